/**
 * config.json, field by field, through the built box-runc: each field is shown to take effect
 * inside the container (or on the host: cgroups, namespaces), and each field box does not do is
 * refused by name before anything is made.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { withEnv, type Config, type Env } from "./harness";

/** The messages of box-runc's log lines (text format), decoded. */
export function msgs(stderr: string): string {
  return stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const m = /^time="[^"]*" level=\w+ msg=(".*")$/.exec(l);
      return m ? JSON.parse(m[1]!) : l;
    })
    .join("\n");
}

/** Runs a bundle in the foreground; its output and status. */
async function runIn(env: Env, script: string, edit?: (c: Config) => void) {
  const b = await env.bundle(["sh", "-c", script], edit);
  return env.runc(["run", "--bundle", b, `r${Math.floor(Math.random() * 1e9)}`]);
}

describe("config.json: process", () => {
  test("user, additional groups, umask, cwd (made when missing), env, noNewPrivileges, oomScoreAdj", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "id; umask; pwd; echo $GREETING; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/self/oom_score_adj", (c) => {
        Object.assign(c.process, { user: { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o027 }, cwd: "/work/here", env: ["PATH=/bin:/usr/bin", "GREETING=hello"], noNewPrivileges: true, oomScoreAdj: 500 });
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("uid=1000 gid=1000 groups=10(wheel),20(dialout)\n0027\n/work/here\nhello\nNoNewPrivs:\t1\nSeccomp:\t0\n500\n");
    }));

  test("the five capability sets, and ambient ones that are not inheritable left out with a warning", () =>
    withEnv(async (env) => {
      const caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"];
      const r = await runIn(env, "grep ^Cap /proc/self/status", (c) => {
        c.process.capabilities = { bounding: [...caps, "CAP_SYS_ADMIN"], effective: ["CAP_KILL"], permitted: caps, inheritable: ["CAP_NET_RAW"], ambient: ["CAP_NET_RAW", "CAP_CHOWN"] };
      });
      // CHOWN=0 KILL=5 NET_RAW=13 SYS_ADMIN=21; root's effective set is its permitted one after execve.
      expect(r.stdout).toBe("CapInh:\t0000000000002000\nCapPrm:\t0000000000002021\nCapEff:\t0000000000002021\nCapBnd:\t0000000000202021\nCapAmb:\t0000000000002000\n");
      expect(r.stderr).toContain("process.capabilities.ambient: CAP_CHOWN left out");
      const unknown = await runIn(env, "true", (c) => (c.process.capabilities.bounding = ["CAP_NOSUCH"]));
      expect([unknown.code, msgs(unknown.stderr)]).toEqual([1, expect.stringContaining('process.capabilities.bounding names an unknown capability "CAP_NOSUCH"')]);
    }));

  test("rlimits, within what this host allows; an unknown one is refused", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "ulimit -n; ulimit -Hn; ulimit -u", (c) => {
        c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 300, hard: 400 }, { type: "RLIMIT_NPROC", soft: 77, hard: 77 }];
      });
      expect(r.stdout).toBe("300\n400\n77\n");
      const bad = await runIn(env, "true", (c) => (c.process.rlimits = [{ type: "RLIMIT_NOSUCH", soft: 1, hard: 1 }]));
      expect(msgs(bad.stderr)).toContain('process.rlimits[0].type "RLIMIT_NOSUCH" is not an rlimit');
    }));

  test("refused by name: apparmorProfile, selinuxLabel, user namespaces, time namespaces; unknown fields inside a section", () =>
    withEnv(async (env) => {
      const cases: Array<[(c: Config) => void, string]> = [
        [(c) => (c.process.apparmorProfile = "x"), "process.apparmorProfile is not supported by box"],
        [(c) => (c.process.selinuxLabel = "x"), "process.selinuxLabel is not supported by box"],
        [(c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), "linux.uidMappings is not supported by box: box-runc does not run containers in a user namespace yet (box run does)"],
        [(c) => c.linux.namespaces.push({ type: "user" }), 'linux.namespaces[6].type is "user"'],
        [(c) => (c.linux.intelRdt = { closID: "x" }), "linux.intelRdt is not supported by box"],
        [(c) => (c.linux.resources.rdma = { mlx: { hcaHandles: 1 } }), "linux.resources.rdma is not supported by box"],
        [(c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOTIFY" }), "linux.seccomp.defaultAction is SCMP_ACT_NOTIFY"],
        [(c) => (c.process.newField = 1), "process.newField is not supported by box: box does not know this field"],
        [(c) => (c.mounts[0].options = ["idmap"]), "the option idmap is not supported by box: box does not make idmapped mounts"],
        [(c) => (c.mounts[0].options = ["tmpcopyup"]), "tmpcopyup is for tmpfs mounts, not proc"],
        [(c) => (c.linux.sysctl = { "kernel.panic": "1" }), "linux.sysctl kernel.panic is not namespaced"],
        [(c) => (c.ociVersion = "2.0.0"), "box reads versions 1.x of the runtime spec"],
      ];
      for (const [edit, message] of cases) {
        const r = await runIn(env, "touch /ran", edit);
        expect({ code: r.code, stderr: msgs(r.stderr) }).toEqual({ code: 1, stderr: expect.stringContaining(message) });
      }
      // An unknown field at the top level is passed over, with a warning (the spec's extensibility).
      const r = await runIn(env, "echo ok", (c) => (c.someToolsData = { x: 1 }));
      expect([r.code, r.stdout, r.stderr]).toEqual([0, "ok\n", expect.stringContaining("the field someToolsData is not known to box and is passed over")]);
    }));
});

describe("config.json: root, mounts, devices, paths", () => {
  test("root.readonly, bind mounts (ro, file, rbind) with their options, tmpfs with data, the default /dev and its links", () =>
    withEnv(async (env) => {
      const host = join(env.dir, "shared");
      await Bun.write(join(host, "file.txt"), "from the host\n");
      const r = await runIn(env, "touch /x 2>&1; cat /data/file.txt; touch /data/y 2>&1; cat /one; grep ' /scratch ' /proc/self/mounts | cut -d' ' -f3,4; ls -l /dev/fd /dev/ptmx | sed 's/.* -> //'; ls /dev", (c) => {
        c.root.readonly = true;
        c.mounts.push(
          { destination: "/data", type: "bind", source: host, options: ["rbind", "ro", "nosuid", "nodev"] },
          { destination: "/one", type: "bind", source: join(host, "file.txt"), options: ["bind", "ro"] },
          { destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m", "mode=700"] },
        );
      });
      expect(r.stdout).toBe(
        "touch: /x: Read-only file system\nfrom the host\ntouch: /data/y: Read-only file system\nfrom the host\ntmpfs rw,nosuid,relatime,size=1024k,mode=700\n/proc/self/fd\npts/ptmx\n" +
          "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n",
      );
    }));

  test("tmpcopyup: a tmpfs over a directory of the image keeps its files (podman's --tmpfs, --read-only)", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "cat /etc/alpine-release; stat -c '%a %U' /etc/shadow; readlink /etc/mtab; echo new > /etc/new-file && echo written; grep ' /etc ' /proc/self/mounts | cut -d' ' -f3", (c) => {
        c.root.readonly = true;
        c.mounts.push({ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "tmpcopyup"] });
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("3.20.3\n640 root\n/proc/mounts\nwritten\ntmpfs\n");
    }));

  test("linux.devices are made in the container; the v1 device controller allows them and the defaults only", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "ls -ln /dev/fuse /dev/mydisk | awk '{print $1,$3,$4,$5,$6}'; echo x > /dev/null && echo null-ok; head -c1 /dev/fuse 2>&1 | head -c 200; echo; mknod /dev/sda b 8 0 && head -c1 /dev/sda 2>&1 | grep -o 'Operation not permitted'", (c) => {
        c.linux.devices = [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o620, uid: 0, gid: 0 }, { path: "/dev/mydisk", type: "b", major: 7, minor: 200, fileMode: 0o600, uid: 1, gid: 2 }];
        c.process.capabilities.bounding.push("CAP_MKNOD");
        c.process.capabilities.effective.push("CAP_MKNOD");
        c.process.capabilities.permitted.push("CAP_MKNOD");
      });
      expect(r.stdout.split("\n").slice(0, 3)).toEqual(["crw--w---- 0 0 10, 229", "brw------- 1 2 7, 200", "null-ok"]);
      // The device cgroup (v1): fuse is allowed (its driver may say otherwise), sda is not.
      expect(r.stdout).toContain("Operation not permitted");
    }));

  test("maskedPaths and readonlyPaths; hostname and domainname", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "wc -c < /proc/timer_list; ls /proc/bus | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>&1; touch /proc/bus/x 2>&1; hostname; cat /proc/sys/kernel/domainname", (c) => {
        c.hostname = "boxhost";
        c.domainname = "box.example";
        c.linux.maskedPaths = ["/proc/timer_list", "/proc/bus", "/proc/no-such-path"];
        c.linux.readonlyPaths = ["/proc/sys"];
      });
      expect(r.stdout).toBe("0\n0\nsh: can't create /proc/sys/kernel/domainname: Read-only file system\ntouch: /proc/bus/x: Read-only file system\nboxhost\nbox.example\n");
    }));

  test("rootfsPropagation: the container's root as asked (unbindable refuses a bind of /)", () =>
    withEnv(async (env) => {
      const edit = (prop: string) => (c: Config) => {
        c.linux.rootfsPropagation = prop;
        c.process.capabilities.bounding.push("CAP_SYS_ADMIN");
        c.process.capabilities.effective.push("CAP_SYS_ADMIN");
        c.process.capabilities.permitted.push("CAP_SYS_ADMIN");
      };
      const shared = await runIn(env, "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo", edit("rshared"));
      expect(shared.stdout).toMatch(/^shared:\d+\n$/);
      const priv = await runIn(env, "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo", edit("private"));
      expect(priv.stdout).toBe("-\n");
      const unbindable = await runIn(env, "mkdir /t; mount --bind / /t 2>&1 | grep -c 'Invalid argument'", edit("unbindable"));
      expect(unbindable.stdout).toBe("1\n");
    }));
});

describe("config.json: namespaces, cgroups, sysctl, seccomp, hooks", () => {
  test("a namespace joined by its path; the others new", () =>
    withEnv(async (env) => {
      const holder = Bun.spawn(["unshare", "--uts", "--ipc", "sleep", "100"]);
      await Bun.sleep(100);
      try {
        const b = await env.bundle(["sleep", "100"], (c) => {
          c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "uts" || n.type === "ipc" ? { type: n.type, path: `/proc/${holder.pid}/ns/${n.type}` } : n));
          delete c.hostname;
        });
        const proc = Bun.spawn([join(import.meta.dir, "../../dist/box-runc"), "--root", env.root, "run", "-d", "--bundle", b, "j"], { stdout: "ignore", stderr: "pipe" });
        expect(await proc.exited).toBe(0);
        const pid = JSON.parse((await env.runc(["state", "j"])).stdout).pid;
        for (const ns of ["uts", "ipc"]) expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).toBe(readlinkSync(`/proc/${holder.pid}/ns/${ns}`));
        for (const ns of ["net", "mnt", "pid"]) expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/${holder.pid}/ns/${ns}`));
        expect((await env.runc(["delete", "--force", "j"])).code).toBe(0);
        const wrong = await runIn(env, "true", (c) => (c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === "uts" ? { type: "uts", path: `/proc/${holder.pid}/ns/net` } : n))));
        expect(msgs(wrong.stderr)).toContain("it is not a namespace of the type the config names");
      } finally {
        holder.kill();
      }
    }));

  test("cgroupsPath and resources: memory, cpu, pids written on the host; the container sees its own cgroup", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max", (c) => {
        c.linux.cgroupsPath = `${env.cgroupParent}/res`;
        c.linux.resources = { ...c.linux.resources, memory: { limit: 50 * 1024 * 1024, reservation: 40 * 1024 * 1024 }, cpu: { shares: 512, quota: 20000, period: 100000 }, pids: { limit: 33 } };
      });
      expect(r.stdout).toBe("33\n");
      expect(r.code).toBe(0);
      // Removed with the container.
      expect(env.cgroupDirs(`${env.cgroupParent}/res`).filter(existsSync)).toEqual([]);
      const oom = await runIn(env, "x=$(head -c 80000000 /dev/zero | tr '\\0' a); echo survived", (c) => (c.linux.resources.memory = { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 }));
      expect(oom.code).toBe(137);
      const systemd = await runIn(env, "true", (c) => (c.linux.cgroupsPath = "system.slice:box:x"));
      expect(msgs(systemd.stderr)).toContain("is a systemd unit");
    }));

  test("sysctl in the container's own namespaces", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni", (c) => (c.linux.sysctl = { "net.ipv4.ip_unprivileged_port_start": "99", "kernel.shmmni": "1234" }));
      expect(r.stdout).toBe("99\n1234\n");
      expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).not.toBe("99\n");
    }));

  test("seccomp in the OCI form: errnoRet, argument comparisons, the default action", () =>
    withEnv(async (env) => {
      const r = await runIn(env, "mkdir /d 2>&1 | grep -o 'Permission denied'; chmod 644 /etc/hostname && echo chmod-644-ok; chmod 777 /etc/hostname 2>&1 | grep -o 'Operation not permitted'; getcwd_is_fine=$(pwd); echo $getcwd_is_fine", (c) => {
        c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          architectures: ["SCMP_ARCH_X86_64"],
          syscalls: [
            { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
            { names: ["chmod", "fchmodat"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0o777, op: "SCMP_CMP_EQ" }] },
          ],
        };
      });
      expect(r.stdout).toBe("Permission denied\nchmod-644-ok\nOperation not permitted\n/\n");
    }));

  test("hooks: each kind at its moment with the state on stdin; a failing prestart hook stops create", () =>
    withEnv(async (env) => {
      const log = join(env.dir, "hooks.log");
      const hook = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `read s; echo "${name} $s" >> ${log}`], timeout: 5 });
      const b = await env.bundle(["sh", "-c", `echo process >> /ran`], (c) => {
        c.annotations = { "io.example": "yes" };
        c.hooks = Object.fromEntries(["prestart", "createRuntime", "createContainer", "poststart", "poststop"].map((k) => [k, [hook(k)]]));
        c.hooks.startContainer = [{ path: "/bin/sh", args: ["sh", "-c", "read s; echo startContainer >> /ran"] }];
      });
      const c = await (await import("./harness")).create(env, "h", b);
      expect(c.code).toBe(0);
      const created = readFileSync(log, "utf8").trim().split("\n");
      expect(created.map((l) => l.split(" ")[0])).toEqual(["prestart", "createRuntime", "createContainer"]);
      const state = JSON.parse(created[0]!.slice("prestart ".length));
      expect(state).toMatchObject({ id: "h", status: "created", bundle: b, annotations: { "io.example": "yes" } });
      expect(state.pid).toBe(JSON.parse((await env.runc(["state", "h"])).stdout).pid);
      expect((await env.runc(["start", "h"])).code).toBe(0);
      expect(readFileSync(log, "utf8")).toContain('poststart {"ociVersion"');
      expect((await env.runc(["delete", "--force", "h"])).code).toBe(0);
      expect(readFileSync(log, "utf8").trim().split("\n").at(-1)).toMatch(/^poststop .*"status":"stopped"/);
      expect(readFileSync(join(b, "rootfs/ran"), "utf8")).toBe("startContainer\nprocess\n");
      const failing = await env.bundle(["true"], (c) => (c.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo no way >&2; exit 3"] }], createRuntime: [{ path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }] }));
      const f = await (await import("./harness")).create(env, "f", failing);
      expect([f.code, f.stderr]).toEqual([1, expect.stringContaining("the prestart hook /bin/sh failed with exit status 3: no way")]);
      expect(existsSync(join(env.root, "f"))).toBe(false);
      const slow = await env.bundle(["true"], (c) => (c.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "10"], timeout: 1 }] }));
      const s = await (await import("./harness")).create(env, "s", slow);
      expect(s.stderr).toContain("the createRuntime hook /bin/sleep did not finish within 1 s");
    }));
});
