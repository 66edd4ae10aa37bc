/**
 * The runc CLI's plans (src/oci/plan.ts, exec's records) through the real C reader, as nobody:
 * what `box-helper --check` read must be what TypeScript meant, line by line (expected.ts and
 * expected-oci.ts), and malformed OCI records are refused with one sentence.
 */
import { describe, expect, test } from "bun:test";
import { encodePlan, type PlanRecord } from "../../src/spec/plan";
import { encodeFilter } from "../../src/spec/seccomp/filter";
import { compileOciProfile } from "../../src/spec/seccomp/oci";
import { planFor, type PlanInput } from "../../src/oci/plan";
import { processRecords } from "../../src/oci/process";
import { CAPABILITIES } from "../../src/spec/capabilities";
import { expectedCheck } from "./expected";
import { HELPER } from "./helper";

function check(records: readonly PlanRecord[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", HELPER, "--check", "--plan-fd", "0"], { stdin: encodePlan(records) });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const held = new Set(Object.keys(CAPABILITIES));

function input(edit?: (i: PlanInput) => void): PlanInput {
  const i: PlanInput = {
    config: {
      ociVersion: "1.1.0",
      process: {
        terminal: true,
        consoleSize: { height: 40, width: 120 },
        user: { uid: 1000, gid: 100, umask: 0o027, additionalGids: [10, 20] },
        args: ["sh", "-c", "echo hi"],
        env: ["PATH=/bin", "A=b c"],
        cwd: "/work",
        capabilities: { bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"], inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"] },
        rlimits: [{ type: "RLIMIT_NOFILE", soft: 100n, hard: 200n }, { type: "RLIMIT_CORE", soft: 0n, hard: (1n << 64n) - 1n }],
        noNewPrivileges: true,
        oomScoreAdj: -100,
      },
      root: { path: "rootfs", readonly: true },
      hostname: "h",
      domainname: "d.example",
      mounts: [
        { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755"] },
        { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "ptmxmode=0666"] },
        { destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "ro", "nosuid", "rshared"] },
        { destination: "/etc/hostname", type: "bind", source: "/etc/hostname", options: ["bind", "noatime", "slave"] },
        { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid"] },
      ],
      hooks: { prestart: [{ path: "/bin/true" }], createContainer: [{ path: "/bin/sh", args: ["sh", "-c", "x"], env: ["K=v"], timeout: 3 }] },
      linux: {
        namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "ipc" }, { type: "network", path: "/run/netns/no-such" }],
        devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o620, uid: 1, gid: 2 }, { path: "/dev/p", type: "p", major: 0, minor: 0 }],
        sysctl: { "net.ipv4.ip_forward": "1", "kernel.shmmni": "100" },
        maskedPaths: ["/proc/kcore"],
        readonlyPaths: ["/proc/sys"],
        rootfsPropagation: "rslave",
        seccomp: { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] },
      },
    },
    bundle: "/b",
    rootfs: "/b/rootfs",
    hookState: ['{"status":"', '","pid":', "}"],
    cgroups: { mode: "v1", joined: [{ dir: "/sys/fs/cgroup/pids/x/c", mount: "/sys/fs/cgroup/pids", controllers: ["pids"] }], procs: ["/sys/fs/cgroup/pids/x/c/cgroup.procs"], made: ["/sys/fs/cgroup/pids/x", "/sys/fs/cgroup/pids/x/c"] },
    seccomp: encodeFilter(compileOciProfile({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] })),
    keyring: true,
    held,
    pidFile: "/run/box-runc/c/pid",
    ociPidFile: "/tmp/pid file",
    consoleSocket: "/tmp/console.sock",
    hold: "/run/box-runc/c/exec.fifo",
    handoff: true,
    cleanup: ["/run/box-runc/c"],
    report: { format: "json", log: "/tmp/log.json" },
  };
  edit?.(i);
  return i;
}

describe("box-helper --check: the runc CLI's plans", () => {
  const cases: Array<[string, (i: PlanInput) => void]> = [
    ["create: every record of the runc CLI", () => {}],
    ["run in the foreground, text errors, no terminal", (i) => {
      Object.assign(i, { handoff: false, hold: undefined, consoleSocket: undefined, ociPidFile: undefined, report: { format: "text" } });
      i.config.process!.terminal = false;
    }],
    ["cgroup v2, cgroup namespace of its own, joined PID namespace", (i) => {
      i.cgroups = { mode: "v2", joined: [{ dir: "/sys/fs/cgroup/x/c", mount: "/sys/fs/cgroup", controllers: [] }], procs: ["/sys/fs/cgroup/x/c/cgroup.procs"], cloneInto: "/sys/fs/cgroup/x/c", made: ["/sys/fs/cgroup/x/c"] };
      i.config.linux!.namespaces = [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "mount" }, { type: "uts" }, { type: "ipc" }, { type: "network" }, { type: "cgroup" }];
    }],
  ];
  for (const [what, edit] of cases) {
    test(what, () => {
      const records = planFor(input(edit));
      const r = check(records);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(expectedCheck(records));
    });
  }

  test("exec: the process with rlimits and oom_score_adj, detached, a pid file and a console socket", () => {
    const proc = input().config.process!;
    const records: PlanRecord[] = [
      ["join", "4242", "99"],
      ...processRecords(proc, "process", { keyring: false, held }),
      ["cgroup", "/sys/fs/cgroup/pids/x/c/cgroup.procs"],
      ["oci_pidfile", "/tmp/exec.pid"],
      ["console_socket", "/tmp/s"],
      ["handoff"],
      ["report_format", "text", ""],
    ];
    const r = check(records);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(expectedCheck(records));
    expect(r.stdout).toContain("\nrlimit RLIMIT_CORE soft=0 hard=unlimited\n");
  });

  test("malformed records of the runc CLI are refused, each in one sentence", () => {
    const base = planFor(input());
    const cases: Array<[(r: PlanRecord[]) => PlanRecord[], string]> = [
      [(r) => [...r, ["ns_path", "time", "/x"]], "the plan names an unknown namespace 'time'"],
      [(r) => [...r, ["ns_path", "net", "/y"]], "the plan joins the net namespace twice"],
      [(r) => r.map((x) => (x[0] === "ns" ? ["ns", "mount", "net"] : x)), "the plan both creates and joins one namespace"],
      [(r) => [...r, ["oom_score_adj", "-1001"]], "the plan repeats the record 'oom_score_adj'"],
      [(r) => r.map((x) => (x[0] === "oom_score_adj" ? ["oom_score_adj", "-0"] : x)), "holds a malformed number '-0'"],
      [(r) => r.map((x) => (x[0] === "root_propagation" ? ["root_propagation", String(0x100000 | 0x80000)] : x)), "not one propagation type"],
      [(r) => [...r, ["mknod", "/dev/x", "s", "1", "1", "666", "0", "0"]], "names an unknown node type 's'"],
      [(r) => [...r, ["hook", "preStart", "0", "/bin/true", "true"]], "names an unknown kind of hook 'preStart'"],
      [(r) => r.filter((x) => x[0] !== "hook_state"), "the plan's hooks need the record 'hook_state'"],
      [(r) => [...r.filter((x) => x[0] !== "hook" && x[0] !== "hook_env"), ["hook_env", "A=1"]], "'hook_env' does not follow a 'hook' record"],
      [(r) => [...r, ["rlimit", "7", "10", "20"]], "the plan's record 'rlimit' sets limit 7 twice"],
      [(r) => [...r, ["rlimit", "3", "20", "10"]], "a soft limit above the hard one for limit 3"],
      [(r) => [...r, ["sysctl_in", "../../etc/passwd", "x"]], "which is not a path under /proc/sys"],
      [(r) => r.map((x) => (x[0] === "tty" ? ["tty", "0"] : x)), "'console_socket' needs a terminal"],
      [(r) => r.map((x) => (x[0] === "report_format" ? ["report_format", "xml", ""] : x)), "names an unknown format 'xml'"],
    ];
    for (const [mutate, message] of cases) {
      const r = check(mutate([...base]));
      expect({ code: r.code, lines: r.stderr.trim().split("\n").length }).toEqual({ code: 125, lines: 1 });
      expect(r.stderr).toContain(message);
    }
  });
});
