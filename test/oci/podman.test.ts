/**
 * podman (Debian's, with conmon) drives box end to end: `podman --runtime dist/box-runc`, on an
 * image the test imports from the Alpine fixture, with its own --root and --runroot, cgroups under
 * a parent of the test's own, and every command inside a network namespace the test makes (podman's
 * bridge, its firewall rules and the published port never touch the machine's own network).
 * On this host podman needs --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 (no CAP_SYS_RESOURCE).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostCgroups } from "../../src/oci/cgroups";
import { ALPINE_TARBALL, run, tempDir, type Result } from "../e2e/harness";
import { BOXRUNC, until } from "./harness";

const SYS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const dir = tempDir("box-oci-podman-");
const netns = `boxoci${process.pid}`;
const parent = `/box-oci-podman-${process.pid}`;
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

/** podman as the tests run it: in the test's network namespace, on the test's store, with box. */
function podman(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<Result> {
  const global = ["--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--runtime", BOXRUNC, "--cgroup-manager", "cgroupfs", "--network-config-dir", join(dir, "net"), "--events-backend", "none"];
  return run(["nsenter", `--net=/run/netns/${netns}`, "podman", ...global, ...args], { ...opts, env: { PATH: SYS_PATH, HOME: dir }, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** `podman run` with the options every run here needs. */
const runArgs = (...args: string[]) => ["run", "--cgroup-parent", parent, ...ULIMITS, ...args];

beforeAll(async () => {
  mkdirSync(join(dir, "net"));
  // podman's bridge network, with its addresses kept in the test's directory.
  writeFileSync(join(dir, "net/podman.conflist"), JSON.stringify({
    cniVersion: "0.4.0",
    name: "podman",
    plugins: [
      { type: "bridge", bridge: "cni-podman0", isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: "host-local", dataDir: join(dir, "ipam"), routes: [{ dst: "0.0.0.0/0" }], ranges: [[{ subnet: "10.89.7.0/24", gateway: "10.89.7.1" }]] } },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  }));
  expect((await run(["ip", "netns", "add", netns], { env: { PATH: SYS_PATH } })).code).toBe(0);
  await run(["ip", "-n", netns, "link", "set", "lo", "up"], { env: { PATH: SYS_PATH } });
  const imported = await podman(["import", ALPINE_TARBALL, "alp"]);
  expect(imported.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await podman(["rm", "-af", "-t", "0"]);
  await run(["ip", "netns", "del", netns], { env: { PATH: SYS_PATH } });
  // podman's conmon cgroup and the containers' ones, under the test's parent: all gone or empty.
  for (const h of hostCgroups().hierarchies) {
    const p = join(h.mount, parent);
    for (const sub of existsSync(p) ? readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory()) : []) rmdirSync(join(p, sub.name));
    if (existsSync(p)) rmdirSync(p);
  }
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("podman --runtime box-runc", () => {
  test("run: the command is PID 1 of its container, its output and exit status come back, --rm leaves nothing", async () => {
    const r = await podman(runArgs("--rm", "--network", "none", "alp", "sh", "-c", "echo hello; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 3"));
    expect([r.code, r.stdout]).toEqual([3, "hello\nsh -c echo hello; tr '\\0' ' ' < /proc/1/cmdline; echo; exit 3 \n"]);
    expect((await podman(["ps", "-aq"])).stdout).toBe("");
  });

  test("run -d, logs, ps, inspect, exec, top, stop (SIGKILL after the grace period), rm", async () => {
    const id = (await podman(runArgs("-d", "--name", "d1", "--network", "none", "alp", "sh", "-c", "echo started; exec sleep 1000"))).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await until(async () => (await podman(["logs", "d1"])).stdout === "started\n")).toBe(true);
    expect((await podman(["ps", "--format", "{{.Names}} {{.Status}}"])).stdout).toMatch(/^d1 Up /);
    const pid = Number((await podman(["inspect", "d1", "--format", "{{.State.Pid}}"])).stdout);
    expect(pid).toBeGreaterThan(1);
    const exec = await podman(["exec", "d1", "sh", "-c", "echo in $(hostname); cat /proc/1/comm; exit 4"]);
    expect([exec.code, exec.stdout]).toEqual([4, `in ${id.slice(0, 12)}\nsleep\n`]);
    expect((await podman(["top", "d1", "pid", "comm"])).stdout).toMatch(/^PID\s+COMMAND\n1\s+sleep\n/);
    const stop = await podman(["stop", "-t", "1", "d1"]);
    expect(stop.code).toBe(0);
    expect((await podman(["inspect", "d1", "--format", "{{.State.Status}} {{.State.ExitCode}}"])).stdout.trim()).toBe("exited 137");
    expect((await podman(["rm", "d1"])).code).toBe(0);
  }, 60_000);

  test("exec -it: a terminal through conmon's console socket; run -t likewise", async () => {
    expect((await podman(runArgs("-d", "--name", "t1", "--network", "none", "alp", "sleep", "1000"))).code).toBe(0);
    const global = `--root ${join(dir, "root")} --runroot ${join(dir, "runroot")} --runtime ${BOXRUNC} --cgroup-manager cgroupfs --network-config-dir ${join(dir, "net")} --events-backend none`;
    const it = await run(["nsenter", `--net=/run/netns/${netns}`, "script", "-qec", `podman ${global} exec -it t1 sh -c 'tty; echo typed=$(head -n1)'`, "/dev/null"], { stdin: "hello\n", env: { PATH: SYS_PATH, HOME: dir } });
    expect(it.stdout).toMatch(/\/dev\/pts\/\d+\r\n/);
    expect(it.stdout).toContain("typed=hello");
    const tty = await podman(runArgs("--rm", "-t", "--network", "none", "alp", "tty"));
    expect(tty.stdout).toMatch(/^\/dev\/pts\/0\r\n$/);
    expect((await podman(["rm", "-f", "-t", "0", "t1"])).code).toBe(0);
  }, 60_000);

  test("kill delivers the signal; a memory limit kills the hog (137); --pids-limit holds", async () => {
    expect((await podman(runArgs("-d", "--name", "k1", "--network", "none", "alp", "sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.05; done"))).code).toBe(0);
    expect((await podman(["kill", "-s", "USR1", "k1"])).code).toBe(0);
    expect(await until(async () => (await podman(["inspect", "k1", "--format", "{{.State.ExitCode}}"])).stdout.trim() === "42", 10_000)).toBe(true);
    expect((await podman(["rm", "k1"])).code).toBe(0);
    const oom = await podman(runArgs("--rm", "--network", "none", "-m", "32m", "--memory-swap", "32m", "alp", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"));
    expect([oom.code, oom.stdout]).toEqual([137, "33554432\n"]);
    const pids = await podman(runArgs("--rm", "--network", "none", "--pids-limit", "20", "alp", "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done"));
    expect(pids.stdout).toBe("20\n");
    expect(pids.stderr).toMatch(/can't fork/);
  }, 90_000);

  test("--read-only with --tmpfs (tmpcopyup), --user, --privileged, a missing command (127), pause, unpause, restart, update", async () => {
    const ro = await podman(runArgs("--rm", "--network", "none", "--read-only", "--tmpfs", "/scratch", "--user", "1000:1000", "alp", "sh", "-c", "touch /x 2>&1; touch /scratch/a /tmp/b && echo writable; cat /etc/alpine-release"));
    expect(ro.stdout).toBe("touch: /x: Read-only file system\nwritable\n3.20.3\n");
    const priv = await podman(runArgs("--rm", "--network", "none", "--privileged", "alp", "sh", "-c", "grep CapEff /proc/self/status; head -c1 /dev/zero | wc -c"));
    expect(priv.stdout).toMatch(/^CapEff:\t0000[0-9a-f]{12}\n1\n$/);
    const missing = await podman(runArgs("--rm", "--network", "none", "alp", "nosuchcmd"));
    expect([missing.code, missing.stderr]).toEqual([127, expect.stringContaining("nosuchcmd: command not found in the container")]);
    expect((await podman(runArgs("-d", "--name", "p1", "--network", "none", "alp", "sleep", "1000"))).code).toBe(0);
    expect((await podman(["pause", "p1"])).code).toBe(0);
    expect((await podman(["inspect", "p1", "--format", "{{.State.Status}}"])).stdout).toBe("paused\n");
    expect((await podman(["unpause", "p1"])).code).toBe(0);
    const pid1 = (await podman(["inspect", "p1", "--format", "{{.State.Pid}}"])).stdout;
    expect((await podman(["restart", "-t", "0", "p1"])).code).toBe(0);
    expect((await podman(["inspect", "p1", "--format", "{{.State.Status}}"])).stdout).toBe("running\n");
    expect((await podman(["inspect", "p1", "--format", "{{.State.Pid}}"])).stdout).not.toBe(pid1);
    expect((await podman(["update", "--memory", "100m", "p1"])).code).toBe(0);
    expect((await podman(["exec", "p1", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"])).stdout).toBe("104857600\n");
    expect((await podman(["rm", "-f", "-t", "0", "p1"])).code).toBe(0);
  }, 90_000);

  test("a published port, reached from the test's network namespace", async () => {
    const r = await podman(runArgs("-d", "--name", "web", "-p", "8080:80", "alp", "sh", "-c", 'while :; do printf "HTTP/1.0 200 OK\\r\\n\\r\\nhello from box\\n" | nc -l -p 80; done'));
    expect(r.code).toBe(0);
    const get = async () => (await run(["nsenter", `--net=/run/netns/${netns}`, "curl", "-s", "-m", "2", "http://127.0.0.1:8080/"], { env: { PATH: SYS_PATH } })).stdout;
    expect(await until(async () => (await get()) === "hello from box\n", 10_000)).toBe(true);
    expect((await podman(["port", "web"])).stdout).toBe("80/tcp -> 0.0.0.0:8080\n");
    expect((await podman(["rm", "-f", "-t", "0", "web"])).code).toBe(0);
    expect((await podman(["ps", "-aq"])).stdout).toBe("");
  }, 60_000);
});
