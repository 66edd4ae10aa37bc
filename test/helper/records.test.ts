/**
 * Records the front end's commands do not all ask for yet, carried out by the real helper on plans
 * built by the TypeScript side (test/helper/run.ts): resource limits of the command and of an
 * exec'd one (`rlimit`), sysctls of the container's namespaces (`sysctl_in`), the MAC addresses of
 * eth0 and of the bridge (`veth`, `bridge`), and the v1 cgroup join the container's first process
 * does itself (`cgroup_tasks`).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { detect } from "../../src/cgroup/detect";
import { createCgroup } from "../../src/cgroup/setup";
import { encodePlan, execRecords, planRecords } from "../../src/spec/plan";
import { run } from "../e2e/harness";
import { inNetns, inNs } from "../net/netns";
import { HELPER } from "./helper";
import { cleanUpAfterEach, plan, prepare, spec, start } from "./run";

const made = cleanUpAfterEach();

const NOFILE = { type: "RLIMIT_NOFILE", soft: 512, hard: 1024 };

describe("helper: rlimit", () => {
  test("the command starts with the plan's limits; unlimited is unlimited", async () => {
    const c = (made.current = await prepare());
    const r = await start(plan(c, ["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc"], { rlimits: [NOFILE, { type: "RLIMIT_CORE", soft: 0, hard: -1 }] }));
    expect(r).toEqual({ code: 0, stdout: "512\n1024\n0\nunlimited\n", stderr: "" });
  });

  test("a hard limit above the current one, without CAP_SYS_RESOURCE: one sentence naming it, 125", async () => {
    const hard = Number((await run(["sh", "-c", "ulimit -Hn"])).stdout.trim());
    const c = (made.current = await prepare());
    const r = await start(plan(c, ["true"], { rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: hard * 2 }] }));
    expect(r).toEqual({
      code: 125,
      stdout: "",
      stderr: `box: cannot raise the hard limit RLIMIT_NOFILE to ${hard * 2}: it is ${hard} here, and raising it needs CAP_SYS_RESOURCE\n`,
    });
  });

  test("box exec's process gets them too", async () => {
    const c = (made.current = await prepare());
    const detached = { id: "", log: join(c.dir, "log"), logCap: 1 << 20 };
    const s = spec(c, ["sleep", "30"], { detach: detached, rlimits: [NOFILE] });
    expect((await start(encodePlan(planRecords(s)))).code).toBe(0);
    const [, , init, initStart] = readFileSync(c.pidFile, "utf8").trim().split(" ");
    const proc = { ...s.process, args: ["sh", "-c", "ulimit -n; ulimit -Hn"] };
    const r = Bun.spawnSync([HELPER, "--plan-fd", "0"], { stdin: encodePlan(execRecords(s, proc, Number(init), [], initStart)) });
    expect({ code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }).toEqual({ code: 0, out: "512\n1024\n", err: "" });
  });
});

describe("helper: sysctl_in", () => {
  test("set in the container's namespaces before /proc/sys is read-only; the host's stay as they are", async () => {
    const host = readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8");
    const c = (made.current = await prepare());
    const script = "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax; { echo 1 > /proc/sys/kernel/msgmax; } 2>/dev/null || echo read-only";
    const r = await start(plan(c, ["sh", "-c", script], { containerSysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel/msgmax": "12345" } }));
    expect(r).toEqual({ code: 0, stdout: "80\n12345\nread-only\n", stderr: "" });
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).toBe(host);
  });

  test("a sysctl the kernel does not have: one sentence, 125", async () => {
    const c = (made.current = await prepare());
    const r = await start(plan(c, ["true"], { containerSysctls: { "net.ipv4.no_such_thing": "1" } }));
    expect(r).toEqual({ code: 125, stdout: "", stderr: "box: cannot open /proc/sys/net/ipv4/no_such_thing in the container: No such file or directory\n" });
  });
});

describe("helper: the bridge network's MAC addresses and eth0's sysctls", () => {
  test("eth0 is born with the plan's MAC and without router advertisements; the bridge keeps its MAC", () =>
    inNetns(async (ns) => {
      const c = (made.current = await prepare());
      const mac = "02:42:0a:58:00:07", bridgeMac = "02:42:0a:58:00:01";
      const bytes = plan(c, ["sh", "-c", "cat /sys/class/net/eth0/address /proc/sys/net/ipv6/conf/eth0/accept_ra /proc/sys/net/ipv6/conf/eth0/autoconf"], {
        network: "bridge",
        bridge: { bridge: "box0", gatewayCidr: "10.88.0.1/24", hostVeth: "vbtest", addressCidr: "10.88.0.7/24", gateway: "10.88.0.1", mac, bridgeMac },
        containerSysctls: { "net.ipv6.conf.eth0.accept_ra": "0", "net.ipv6.conf.eth0.autoconf": "0" },
      });
      const r = await inNs(ns, [HELPER, "--plan-fd", "0"], { stdin: bytes });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `${mac}\n0\n0\n`, stderr: "" });
      expect((await inNs(ns, ["ip", "-o", "link", "show", "box0"])).stdout).toContain(` link/ether ${bridgeMac} `);
    }));
});

describe("helper: cgroup v1, joined by the container's first process itself", () => {
  const host = detect();
  test.skipIf(host.mode === "v2")("its first step writes 0 into each tasks file; init and the command are in its cgroups", async () => {
    const c = (made.current = await prepare());
    const cg = createCgroup(host, `box-helper-test-${process.pid}`, { pids: 50 }, `box-test-helper-${process.pid}`);
    made.cgroupDirs = [...new Set(cg.dirs.map((d) => dirname(d))), ...cg.dirs];
    // Seen from inside (its cgroup namespace shows its own cgroups as the roots): init and the
    // command, which exec'd cat, are in each of them.
    const files = cg.mounts.filter((m) => m.type === "cgroup").map((m) => `${m.destination}/cgroup.procs`);
    const r = await start(plan(c, ["cat", ...files], { cgroup: { procs: cg.procs, dirs: cg.dirs, mounts: cg.mounts }, traceFd: 2 }));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1\n2\n".repeat(files.length));
    expect(files.length).toBe(cg.dirs.length);
    const lines = r.stderr.trim().split("\n");
    // The container's first process: its first line is the cgroup join, one file per hierarchy;
    // the supervisor moved nobody.
    expect(lines.find((l) => l.split(" ")[1] === "container")).toMatch(new RegExp(`^\\d+ container host\\.c:0 cgroup-self files=${cg.dirs.length}$`));
    expect(lines.filter((l) => / cgroup(-file)? /.test(l)).map((l) => l.split(" ").slice(1, 4).join(" "))).toEqual(cg.dirs.map(() => "supervisor host.c:1 cgroup-file"));
    // The plan's rmcgroup records removed them once it ended.
    expect(cg.dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});
