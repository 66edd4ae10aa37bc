/**
 * TypeScript and C can never disagree silently: plans built the way box builds them, for many
 * kinds of container, go through the real C reader (`box-helper --check`, as an unprivileged user:
 * reading a plan needs no root) and what it read is compared, line by line, with what the
 * TypeScript side meant (expected.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveCapabilities } from "../../src/spec/capabilities";
import { buildSpec, type SpecInput } from "../../src/spec/build";
import { attachRecords, encodePlan, execRecords, planRecords, type PlanRecord } from "../../src/spec/plan";
import { expectedCheck } from "./expected";
import { HELPER } from "./helper";

let dir: string;
let helper: string;
beforeAll(() => {
  // A copy the unprivileged user can run wherever the work tree is.
  dir = mkdtempSync(join(tmpdir(), "box-check-"));
  chmodSync(dir, 0o755);
  helper = join(dir, "box-helper");
  copyFileSync(HELPER, helper);
  chmodSync(helper, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The helper's reading of a plan, as nobody (uid 65534) with no capability at all. */
function check(records: readonly PlanRecord[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", helper, "--check", "--plan-fd", "0"], {
    stdin: encodePlan(records),
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function base(): SpecInput {
  return {
    process: { args: ["sh", "-c", "echo hi"], env: [], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/root", hostname: "c0ffee", tty: false, stdin: false },
    security: { capabilities: resolveCapabilities([], [], false), noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false },
    network: "none",
    rootfs: { kind: "overlay", lowers: ["/var/lib/box/images/l/abc", "/var/lib/box/images/l/def"], upper: "/var/lib/box/containers/c/upper", work: "/var/lib/box/containers/c/work", merged: "/var/lib/box/containers/c/rootfs" },
    etcFiles: { hostname: "/var/lib/box/containers/c/hostname", hosts: "/var/lib/box/containers/c/hosts", resolvConf: "/var/lib/box/containers/c/resolv.conf" },
    cleanup: ["/var/lib/box/containers/c", "/run/box/c.pid"],
    pidFile: "/run/box/c.pid",
  };
}

const specs: Array<[string, (s: SpecInput) => void]> = [
  ["the defaults", () => {}],
  ["--network host", (s) => void (s.network = "host")],
  ["--network bridge with published ports", (s) => {
    s.network = "bridge";
    s.bridge = { bridge: "box0", gatewayCidr: "10.88.0.1/24", hostVeth: "vbc0ffee00000", addressCidr: "10.88.0.7/24", gateway: "10.88.0.1" };
    s.sysctls = [["/proc/sys/net/ipv4/conf/box0/route_localnet", "1"]];
    s.cleanupExec = [["/usr/sbin/nft", "delete", "table", "ip", "box-c0ffee"]];
  }],
  ["--network bridge with MAC addresses for eth0 and the bridge, eth0's sysctls", (s) => {
    s.network = "bridge";
    s.bridge = { bridge: "box0", gatewayCidr: "10.88.0.1/24", hostVeth: "vbc0ffee00000", addressCidr: "10.88.0.7/24", gateway: "10.88.0.1", mac: "02:42:0a:58:00:07", bridgeMac: "02:42:0a:58:00:01" };
    s.containerSysctls = { "net.ipv6.conf.eth0.accept_ra": "0", "net/ipv6/conf/eth0/autoconf": "0" };
  }],
  ["--ulimit and --sysctl", (s) => {
    s.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }, { type: "RLIMIT_CORE", soft: 0, hard: -1 }, { type: "RLIMIT_NPROC", soft: -1, hard: -1 }];
    s.containerSysctls = { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmax": "1048576" };
  }],
  ["an image of 150 layers", (s) => {
    s.rootfs = { kind: "overlay", lowers: Array.from({ length: 150 }, (_, i) => `/var/lib/box/images/l/L${String(i).padStart(25, "0")}`), upper: "/u", work: "/w", merged: "/m" };
  }],
  ["-d --restart on-failure:3, stopped by a file", (s) => {
    s.detach = { id: "c0ffee", log: "/var/lib/box/containers/c/log", logCap: 10 << 20, logFormat: "k8s-file" };
    s.restart = { name: "on-failure", maximumRetryCount: 3 };
    s.stoppedFile = "/var/lib/box/containers/c/stopped";
  }],
  ["-d --restart always", (s) => {
    s.detach = { id: "c0ffee", log: "/var/lib/box/containers/c/log", logCap: 10 << 20, logFormat: "k8s-file" };
    s.restart = { name: "always", maximumRetryCount: 0 };
  }],
  ["box run -it: a supervisor of its own, its console, the caller attached", (s) => {
    Object.assign(s.process, { tty: true, stdin: true });
    s.detach = { id: "", log: "/var/lib/box/containers/c/log", logCap: 10 << 20, logFormat: "k8s-file" };
    s.attachSocket = "/run/box/c.attach";
    s.attached = { detachKeys: [0x10, 0x11] };
  }],
  ["-d with a console, no detach keys", (s) => {
    s.detach = { id: "c0ffee", log: "/var/lib/box/containers/c/log", logCap: 10 << 20, logFormat: "k8s-file" };
    s.attachSocket = "/run/box/c.attach";
    s.attached = { detachKeys: [] };
  }],
  ["-it", (s) => Object.assign(s.process, { tty: true, stdin: true })],
  ["-d, held at a FIFO, with a step trace", (s) => {
    s.detach = { id: "c0ffee", log: "/var/lib/box/containers/c/log", logCap: 10 << 20, logFormat: "k8s-file" };
    s.exitFile = "/var/lib/box/containers/c/exit";
    s.hold = "/run/box/c.fifo";
    s.traceFd = 7;
  }],
  ["limits on cgroup v1: the process writes itself into the tasks files", (s) => {
    s.cgroup = {
      procs: ["/sys/fs/cgroup/memory/box/c/cgroup.procs", "/sys/fs/cgroup/pids/box/c/cgroup.procs"],
      dirs: ["/sys/fs/cgroup/memory/box/c", "/sys/fs/cgroup/pids/box/c"],
      mounts: [{ destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev", "ro"], mountpoint: "dir" }],
      oom: { file: "/sys/fs/cgroup/memory/box/c/memory.oom_control", killed: "out of memory: the container reached its memory limit", other: "a process was killed" },
    };
  }],
  ["limits on cgroup v2: born in the cgroup", (s) => {
    s.cgroup = { procs: ["/sys/fs/cgroup/box/c/cgroup.procs"], cloneInto: "/sys/fs/cgroup/box/c", dirs: ["/sys/fs/cgroup/box/c"], mounts: [] };
  }],
  ["--security-opt systempaths=unconfined, seccomp=unconfined, no-new-privileges=false", (s) => {
    Object.assign(s.security, { systemPaths: false, seccomp: false, noNewPrivileges: false });
  }],
  ["--privileged", (s) => void (s.security = { capabilities: resolveCapabilities([], [], true), noNewPrivileges: true, seccomp: false, systemPaths: false, privileged: true })],
  ["--cap-drop ALL --cap-add NET_ADMIN,SYS_ADMIN", (s) => void (s.security.capabilities = resolveCapabilities(["NET_ADMIN", "SYS_ADMIN"], ["ALL"], false))],
  ["-u 1000:1000 with groups, -w", (s) => Object.assign(s.process, { user: { uid: 1000, gid: 1000, additionalGids: [10, 20, 4294967294] }, cwd: "/srv/my app", home: "/home/u" })],
  ["a directory rootfs", (s) => void (s.rootfs = { kind: "bind", path: "/srv/root fs" })],
  ["argv and env with odd bytes", (s) => Object.assign(s.process, {
    args: ["printf", "%s\\n", "tab\there", "new\nline", 'quote"back\\slash', "", "utf8 é ✓", "raw \udc80\udcff bytes"],
    env: ["PATH=/opt/bin:/bin", "EMPTY=", "SPACES=a b  c", "RAW=\udcfe", "EQ=a=b"],
  })],
];

describe("box-helper --check: the C reader reads what TypeScript meant", () => {
  for (const [what, change] of specs) {
    test(what, () => {
      const input = base();
      change(input);
      const records = planRecords(buildSpec(input));
      const r = check(records);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(expectedCheck(records));
    });
  }

  test("box exec's plan: the container's init by pid and start time, its cgroups, the process", () => {
    const spec = buildSpec(base());
    const proc = { ...spec.process, args: ["ls", "-l"], terminal: true, stdin: true, cwd: "/tmp", env: ["PATH=/bin", "TERM=xterm"] };
    const records = execRecords(spec, proc, 4242, ["/sys/fs/cgroup/pids/box/c/cgroup.procs"], "1234567");
    const r = check(records);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(expectedCheck(records));
    expect(r.stdout).toContain("\njoin pid=4242 start=1234567\n");
  });

  test("box attach's plan", () => {
    for (const records of [attachRecords("/run/box/c.attach", { detachKeys: [0x10, 0x11], stdin: true, sigProxy: false }), attachRecords("/r/c.attach", { detachKeys: [], stdin: false, sigProxy: true })]) {
      const r = check(records);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(expectedCheck(records));
    }
    expect(check(attachRecords("/run/box/c.attach", { detachKeys: [0x10, 0x11], stdin: true, sigProxy: false })).stdout).toBe(
      "plan version=2 mode=attach\nattach socket=/run/box/c.attach keys=1011 stdin=on sig-proxy=off\n",
    );
  });

  test("box network prune's plan", () => {
    const r = check([["delete_link", "box0"]]);
    expect(r.stdout).toBe(expectedCheck([["delete_link", "box0"]]));
  });

  test("the text says what the plan means, by name (read here without the expectation)", () => {
    const input = base();
    input.security.capabilities = ["CHOWN", "KILL"];
    const lines = check(planRecords(buildSpec(input))).stdout.split("\n");
    expect(lines).toContain("mount source=proc target=/proc type=proc flags=nosuid,nodev,noexec data=\"\"");
    expect(lines).toContain("overlay merged=/var/lib/box/containers/c/rootfs upper=/var/lib/box/containers/c/upper work=/var/lib/box/containers/c/work flags=nodev layers=2");
    expect(lines).toContain("overlay-layer /var/lib/box/images/l/abc");
    expect(lines).toContain("capabilities bounding=CHOWN,KILL effective=CHOWN,KILL permitted=CHOWN,KILL inheritable=none ambient=none");
    expect(lines).toContain("device /dev/null host=/dev/null char=1:3");
    expect(lines).toContain("search-path /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(lines.find((l) => l.startsWith("seccomp "))).toMatch(/^seccomp instructions=\d+ default=errno:1$/);
  });

  test("a user namespace, a time namespace and a user-mode network (rootless, --userns=auto): read and shown; what does not go together refused", () => {
    const input = base();
    input.rootfs = { ...(input.rootfs as Extract<SpecInput["rootfs"], { kind: "overlay" }>), userxattr: true };
    input.userns = {
      mapping: { uid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }], gid: [{ inside: 0, outside: 1000, count: 1 }, { inside: 1, outside: 100000, count: 65536 }], tools: { uid: "/usr/bin/newuidmap", gid: "/usr/bin/newgidmap" }, single: false },
      cleanupInside: true,
      reexec: true,
    };
    input.time = "from-start";
    input.netTool = { argv: ["/usr/bin/pasta", "--config-net", "{pid}"], readyMs: 10000 };
    const records = planRecords(buildSpec(input));
    const r = check(records);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines).toContain("user-namespace uid=0:1000:1,1:100000:65536 gid=0:1000:1,1:100000:65536 setgroups=allow");
    expect(lines).toContain("map-tool uid=/usr/bin/newuidmap");
    expect(lines).toContain("overlay merged=/var/lib/box/containers/c/rootfs upper=/var/lib/box/containers/c/upper work=/var/lib/box/containers/c/work flags=nodev layers=2 userxattr");
    expect(lines).toContain("cleanup-inside on");
    expect(lines).toContain("reexec on");
    expect(lines).toContain("time-namespace clocks=from-start");
    expect(lines).toContain("net-tool ready-ms=10000 /usr/bin/pasta --config-net {pid}");
    const exec = check(execRecords(buildSpec(input), buildSpec(input).process, 4242, [], "1"));
    expect(exec.stdout.split("\n")).toContain("join-namespaces user time");
    const without = (key: string) => records.filter((rec) => rec[0] !== key);
    expect(check(without("uid_map")).stderr).toBe("box: the plan's user namespace and its 'uid_map' and 'gid_map' records go together\n");
    expect(check([...without("overlay").filter((rec) => rec[0] !== "overlay_userxattr"), ["overlay_userxattr"]]).stderr).toBe("box: the plan's record 'overlay_userxattr' comes after an 'overlay'\n");
    expect(check([...records, ["mounter", "container"]]).stderr).toBe("box: the plan's records 'idmap' and 'fuse_mount' go with a 'mounter' (host and container)\n");
    expect(check(records.map((rec) => (rec[0] === "ns" ? (rec.filter((f) => f !== "time") as PlanRecord) : rec))).stderr).toBe("box: the plan's record 'clock_from_start' needs a time namespace\n");
  });
});
