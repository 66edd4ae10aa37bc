/**
 * The escape suite: attacks from inside a container, each checked from both sides (the attempt
 * fails inside, the host is unchanged outside). A failure message names what leaked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { X86_64_SYSCALLS as NR } from "../../src/spec/seccomp/x86_64";
import { ALPINE_TARBALL, box, removeRoot, run, spawnBox, tempDir, TOP, withRoot } from "../e2e/harness";
import { copyProbe, inside, probe, probeOnHost, rootfsWithProbe } from "./probe";

const work = tempDir("box-escape-");
beforeAll(() => probe(), 180_000);
afterAll(() => removeRoot(work));

/** "errno 1" for a probe call that failed with EPERM. */
async function syscallFrom(root: string, name: string, args: number[] = [], options: string[] = []) {
  const r = await inside(root, `/probe syscall ${NR[name]} ${args.join(" ")}`, options);
  return r.stdout.trim();
}

describe("escape suite: what a container keeps", () => {
  test("capabilities: docker's 14 in the bounding, permitted and effective sets; none inheritable or ambient; no_new_privs; seccomp", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status"]);
      expect(r.stdout).toBe(
        "CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n",
      );
    }));

  test("--cap-drop ALL, --cap-add, --privileged and --security-opt change exactly what they say", () =>
    withRoot(async (root) => {
      const status = async (opts: string[]) =>
        (await box(root, ["run", ...opts, "grep", "-E", "^(CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status"])).stdout;
      expect(await status(["--cap-drop", "ALL"])).toBe("CapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n");
      expect(await status(["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"])).toBe("CapBnd:\t0000000000001000\nNoNewPrivs:\t1\nSeccomp:\t2\n");
      expect(await status(["--cap-drop", "chown", "--cap-drop", "CAP_KILL"])).toBe("CapBnd:\t00000000a80425da\nNoNewPrivs:\t1\nSeccomp:\t2\n");
      expect(await status(["--security-opt", "seccomp=unconfined"])).toBe("CapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t0\n");
      expect(await status(["--security-opt", "no-new-privileges=false"])).toBe("CapBnd:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2\n");
      // Every capability box holds itself (this host's bounding set lacks SYS_RESOURCE).
      const hostBounding = /^CapBnd:\t([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1];
      expect(await status(["--privileged"])).toBe(`CapBnd:\t${hostBounding}\nNoNewPrivs:\t1\nSeccomp:\t0\n`);
      // systempaths=unconfined: /proc/interrupts is the host's again (masked, it reads as empty).
      const sizes = async (opts: string[]) => (await box(root, ["run", ...opts, "sh", "-c", "wc -c < /proc/interrupts"])).stdout.trim();
      expect(await sizes([])).toBe("0");
      expect(Number(await sizes(["--security-opt", "systempaths=unconfined"]))).toBeGreaterThan(0);
      const bad = await box(root, ["run", "--cap-add", "CAP_FLY", "true"]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toBe('box: unknown capability "CAP_FLY"\n');
      const badOpt = await box(root, ["run", "--security-opt", "apparmor=x", "true"]);
      expect(badOpt.code).toBe(125);
    }));

  test("PID 1, box's init, keeps nothing: no capability, no_new_privs, the filter, the command's user (seen inside and from the host)", () =>
    withRoot(async (root) => {
      const status = async (opts: string[]) => (await box(root, ["run", ...opts, "grep", "-E", "^(Uid|Cap...|NoNewPrivs|Seccomp):", "/proc/1/status"])).stdout;
      const none = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n";
      expect(await status([])).toBe(`Uid:\t0\t0\t0\t0\n${none}NoNewPrivs:\t1\nSeccomp:\t2\n`);
      expect(await status(["-u", "1000:1000"])).toBe(`Uid:\t1000\t1000\t1000\t1000\n${none}NoNewPrivs:\t1\nSeccomp:\t2\n`);
      // --privileged gives the command every capability and no filter; init still keeps nothing.
      expect(await status(["--privileged"])).toBe(`Uid:\t0\t0\t0\t0\n${none}NoNewPrivs:\t1\nSeccomp:\t0\n`);
      const id = (await box(root, ["run", "-d", "--name", "c", "sleep", "60"])).stdout.trim();
      const init = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ")[2];
      const host = readFileSync(`/proc/${init}/status`, "utf8");
      expect(host.split("\n").filter((l) => /^(Name|Cap...|NoNewPrivs|Seccomp):/.test(l)).join("\n") + "\n").toBe(`Name:\tbox-init\n${none}NoNewPrivs:\t1\nSeccomp:\t2\n`);
      // Not dumpable: its memory and fds are out of reach of the container's root without SYS_PTRACE.
      const peek = await box(root, ["exec", "c", "sh", "-c", "cat /proc/1/environ; readlink /proc/1/fd/0 /proc/1/exe /proc/1/root; echo done"]);
      expect(peek.stdout).toBe("done\n");
      expect(peek.stderr).toContain("Permission denied");
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("an init without CAP_KILL still forwards signals to a command of another user", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "-u", "1000:1000", "sh", "-c", "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.05; done"]);
      const reader = proc.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(5);
      let rest = "";
      for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
      expect(rest).toBe("got-term\n");
    }));

  test("a non-root user has no effective capabilities", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-u", "1000", "grep", "-E", "^Cap(Eff|Prm|Bnd):", "/proc/self/status"]);
      expect(r.stdout).toBe("CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n");
    }));

  test("no file descriptor of the host survives, and a working directory through one is refused", () =>
    withRoot(async (root) => {
      // This shell holds /etc on fd 7 while it starts box.
      const r = await run(["sh", "-c", `exec 7</etc; exec ${join(TOP, "dist/box")} --root ${root} run sh -c 'ls /proc/self/fd'`]);
      expect(r.stdout.trim().split("\n").sort()).toEqual(["0", "1", "2", "3"]); // 3: ls's own directory
      const cwd = await run(["sh", "-c", `exec 7</etc; exec ${join(TOP, "dist/box")} --root ${root} run -w /proc/self/fd/7 pwd`]);
      expect(cwd.code).toBe(125);
      expect(cwd.stdout).toBe("");
      expect(cwd.stderr).toStartWith("box: ");
    }));
});

describe("escape suite: the kernel's sensitive paths", () => {
  const masked = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/proc/interrupts", "/sys/firmware", "/sys/devices/virtual/powercap"];

  test("every masked path reads as empty inside, while the host's has content", () =>
    withRoot(async (root) => {
      const script = masked.map((p) => `if [ -d ${p} ]; then echo "${p} dir $(ls -A ${p} | wc -l)"; elif [ -e ${p} ]; then echo "${p} file $(head -c 4096 ${p} | wc -c)"; else echo "${p} absent"; fi`).join("; ");
      const r = await box(root, ["run", "--cap-add", "SYS_PTRACE", "sh", "-c", script]);
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(masked.length);
      let checked = 0;
      for (const [i, path] of masked.entries()) {
        const onHost = existsSync(path);
        if (!onHost) continue;
        checked++;
        const kind = statSync(path).isDirectory() ? "dir" : "file";
        // Leaked: the container sees the host's content at this path.
        expect({ path, seen: lines[i] }).toEqual({ path, seen: `${path} ${kind} 0` });
      }
      expect(checked).toBeGreaterThan(3);
    }));

  test("read-only paths refuse writes, and the host's values stay", () =>
    withRoot(async (root) => {
      const watched = ["/proc/sys/kernel/domainname", "/proc/sys/kernel/core_pattern"];
      const before = watched.map((f) => readFileSync(f, "utf8"));
      // core_pattern: a pipe there runs a program as root on the host at the next crash.
      const paths = [...watched, "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches", "/sys/kernel/uevent_helper", "/proc/irq/default_smp_affinity"];
      const r = await box(root, ["run", "sh", "-c", `for f in ${paths.join(" ")}; do (echo '|/tmp/evil' > $f) 2>/dev/null; echo "$f $?"; done`]);
      // Leaked: a write to this path succeeded (exit 0).
      expect(r.stdout.trim().split("\n")).toEqual(paths.map((p) => `${p} 1`));
      expect(watched.map((f) => readFileSync(f, "utf8"))).toEqual(before);
    }));

  test("remounting or unmounting them is refused", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "mount -o remount,rw /proc/sys; echo $?; umount /proc/sys; echo $?; umount -l /proc/kcore; echo $?; mount -o remount,rw /sys; echo $?; grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"]);
      const [remountSys, umountSys, umountKcore, remountSysfs, after] = r.stdout.trim().split("\n");
      // Leaked: one of these succeeded (exit 0), or /proc/sys is writable afterwards.
      expect({ remountSys, umountSys, umountKcore, remountSysfs }).toEqual({
        remountSys: expect.stringMatching(/^[1-9]\d*$/), umountSys: expect.stringMatching(/^[1-9]\d*$/),
        umountKcore: expect.stringMatching(/^[1-9]\d*$/), remountSysfs: expect.stringMatching(/^[1-9]\d*$/),
      });
      expect(after).toBe("ro");
    }));

  test("mounting a fresh proc or sysfs is refused, also after unshare -U", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "mkdir -p /m; mount -t proc proc /m; echo proc=$?; mount -t sysfs sysfs /m; echo sysfs=$?; unshare -U -r sh -c 'mount -t proc proc /m' ; echo userns=$?; unshare -U true; echo unshare=$?; ls /m | wc -l"]);
      expect(r.stdout).toMatch(/^proc=[1-9]\d*\nsysfs=[1-9]\d*\nuserns=[1-9]\d*\nunshare=[1-9]\d*\n0\n$/);
    }));

  test("cgroup v1 release_agent (CVE-2022-0492): no cgroup hierarchy can be mounted, the host's agent is untouched", () =>
    withRoot(async (root) => {
      const agents = readdirSync("/sys/fs/cgroup").map((c) => join("/sys/fs/cgroup", c, "release_agent")).filter((p) => existsSync(p));
      const before = agents.map((p) => readFileSync(p, "utf8"));
      const r = await box(root, ["run", "sh", "-c", "mkdir -p /cg; for c in rdma memory pids; do mount -t cgroup -o $c cgroup /cg && echo mounted-$c; done; unshare -U -r -C sh -c 'mount -t cgroup -o rdma cgroup /cg && echo /evil > /cg/release_agent' && echo escaped; ls /sys/fs/cgroup 2>&1 | head -3; true"]);
      expect(r.stdout).not.toContain("mounted-");
      expect(r.stdout).not.toContain("escaped");
      expect(agents.map((p) => readFileSync(p, "utf8"))).toEqual(before);
    }));

  test("notify_on_release of the container's own cgroups cannot be set (the other half of a release_agent escape)", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "c", "-m", "64m", "sleep", "60"])).stdout.trim();
      const init = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ")[2];
      const r = await box(root, ["exec", "c", "sh", "-c", "for f in $(find /sys/fs/cgroup -maxdepth 2 -name notify_on_release); do (echo 1 > $f) 2>/dev/null && echo \"wrote $f\"; done; echo done"]);
      expect(r.stdout).toBe("done\n");
      // From the host: the container's cgroup in every v1 hierarchy still says 0.
      const mine = readFileSync(`/proc/${init}/cgroup`, "utf8").trim().split("\n").map((l) => l.split(":"));
      let checked = 0;
      for (const [, controllers, path] of mine) {
        const file = join("/sys/fs/cgroup", controllers!.replace("name=", ""), path!, "notify_on_release");
        if (!controllers || !existsSync(file)) continue;
        expect({ file, value: readFileSync(file, "utf8") }).toEqual({ file, value: "0\n" });
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("/sys is read-only but with --privileged: --cap-add ALL, systempaths or seccomp unconfined do not open it", () =>
    withRoot(async (root) => {
      // The write goes to the container's own loopback (its network namespace's sysfs): harmless even
      // where it is allowed, refused by a read-only mount.
      const script = "grep ' /sys sysfs ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; (echo 1280 > /sys/class/net/lo/mtu) 2>/dev/null && echo wrote; true";
      for (const opts of [[], ["--cap-add", "ALL"], ["--security-opt", "systempaths=unconfined"], ["--security-opt", "seccomp=unconfined"], ["-u", "0"]]) {
        const r = await box(root, ["run", ...opts, "sh", "-c", script]);
        expect({ opts, out: r.stdout }).toEqual({ opts, out: "ro\n" });
      }
      // --privileged: writable, as docker's.
      expect((await box(root, ["run", "--privileged", "sh", "-c", script])).stdout).toBe("rw\nwrote\n");
    }));
});

describe("escape suite: syscalls the filter refuses", () => {
  test("module loading: init_module, finit_module, delete_module refused; the host's modules unchanged", () =>
    withRoot(async (root) => {
      const modules = () => (existsSync("/proc/modules") ? readFileSync("/proc/modules", "utf8") : "(no modules)");
      const before = modules();
      for (const call of ["init_module", "finit_module", "delete_module"]) {
        expect({ call, result: await syscallFrom(root, call) }).toEqual({ call, result: "errno 1" });
      }
      expect(modules()).toBe(before);
    }));

  test("open_by_handle_at (the shocker attack) is refused", () =>
    withRoot(async (root) => {
      // /dev/shm: a tmpfs, which can hand out file handles (the overlay root cannot).
      const r = await inside(root, "/probe handle /dev/shm");
      expect(r.stdout.trim()).toBe("errno 1");
      // With DAC_READ_SEARCH added the call gets through to the kernel, proving the filter decided.
      const allowed = await inside(root, "/probe handle /dev/shm", ["--cap-add", "DAC_READ_SEARCH"]);
      expect(allowed.stdout.trim()).not.toBe("errno 1");
    }));

  test("keyctl, add_key, request_key are refused; the session keyring is a fresh one", () =>
    withRoot(async (root) => {
      for (const call of ["keyctl", "add_key", "request_key"]) {
        expect({ call, result: await syscallFrom(root, call) }).toEqual({ call, result: "errno 1" });
      }
      const host = (await run([await probeOnHost(), "keyring"])).stdout.trim();
      const mine = (await inside(root, "/probe keyring", ["--security-opt", "seccomp=unconfined"])).stdout.trim();
      expect(mine).toMatch(/^ok \d+$/);
      expect(mine).not.toBe(host);
    }));

  test("io_uring is refused (EPERM); unconfined, the kernel answers the same calls itself", () =>
    withRoot(async (root) => {
      const calls = ["io_uring_setup", "io_uring_enter", "io_uring_register"];
      // io_uring_setup(1, NULL), io_uring_enter(-1, ...), io_uring_register(-1, ...)
      const script = (c: string) => `echo "${c} $(/probe syscall ${NR[c]} ${c === "io_uring_setup" ? "1 0" : "-1 0 0 0 0"})"`;
      const r = await inside(root, calls.map(script).join("; "));
      expect(r.stdout.trim().split("\n")).toEqual(calls.map((c) => `${c} errno 1`));
      const unconfined = await inside(root, calls.map(script).join("; "), ["--security-opt", "seccomp=unconfined"]);
      // EFAULT for the missing parameters, EBADF or EINVAL for the fd -1: the filter, not the kernel, refused above.
      expect(unconfined.stdout.trim().split("\n")).toEqual(["io_uring_setup errno 14", "io_uring_enter errno 9", "io_uring_register errno 22"]);
    }));

  test("mount, umount2, unshare, setns, pivot_root, bpf, perf_event_open, userfaultfd, kexec_load, reboot are refused", () =>
    withRoot(async (root) => {
      const calls = ["mount", "umount2", "unshare", "setns", "pivot_root", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "reboot", "kexec_file_load", "ptrace", "acct", "settimeofday"];
      const script = calls.map((c) => `echo "${c} $(/probe syscall ${NR[c]} 0 0 0 0 0)"`).join("; ");
      const r = await inside(root, script);
      expect(r.stdout.trim().split("\n")).toEqual(calls.map((c) => `${c} errno 1`));
    }));

  test("clone with a namespace flag is refused; clone3 says ENOSYS; plain fork works", () =>
    withRoot(async (root) => {
      const CLONE_NEWUSER = 0x10000000, CLONE_NEWNS = 0x20000, SIGCHLD = 17;
      const r = await inside(root, `/probe syscall ${NR.clone} ${CLONE_NEWUSER | SIGCHLD}; /probe syscall ${NR.clone} ${CLONE_NEWNS | SIGCHLD}; /probe syscall ${NR.clone3} 0 0; sh -c 'echo forked'`);
      expect(r.stdout.trim().split("\n")).toEqual(["errno 1", "errno 1", "errno 38", "forked"]);
    }));

  test("the 32-bit syscall table (int 0x80) and the x32 ABI cannot slip past the filter", () =>
    withRoot(async (root) => {
      // i386 mount is 21, i386 getpid is 20: both refused, because the ABI is refused.
      const r = await inside(root, "/probe i386 21 0 0 0; /probe i386 20; /probe syscall 0x40000027");
      expect(r.stdout.trim().split("\n")).toEqual(["errno 1", "errno 1", "errno 1"]);
    }));
});

describe("escape suite: reaching the host", () => {
  test("chroot and '..' lead nowhere beyond the container's root", () =>
    withRoot(async (root) => {
      const marker = join(work, "host-marker");
      writeFileSync(marker, "host");
      const r = await inside(root, `/probe chroot-escape ${marker}; /probe chroot-escape /etc/alpine-release`);
      expect(r.stdout.trim().split("\n")).toEqual(["errno 2", expect.stringMatching(/^ok \d+$/)]);
    }));

  test("a host process can be neither seen nor signalled", () =>
    withRoot(async (root) => {
      const sleeper = Bun.spawn(["sleep", "60"]);
      try {
        const pid = sleeper.pid;
        const r = await box(root, ["run", "sh", "-c", `ls /proc/${pid} >/dev/null 2>&1 && echo seen; kill -9 ${pid} 2>/dev/null && echo signalled; kill -9 -1; echo done`]);
        expect(r.stdout).not.toContain("seen");
        expect(r.stdout).not.toContain("signalled");
        expect(existsSync(`/proc/${pid}`)).toBe(true);
        expect(sleeper.exitCode).toBeNull();
      } finally {
        sleeper.kill();
      }
    }));

  test("the host's hostname cannot be changed", () =>
    withRoot(async (root) => {
      const before = hostname();
      const r = await box(root, ["run", "sh", "-c", "hostname evil 2>&1; echo $?; hostname"]);
      expect(r.stdout).toMatch(/\n1\n[0-9a-f]{12}\n$/);
      expect(hostname()).toBe(before);
    }));

  test("a block device made with mknod cannot be opened, nor mounted", () =>
    withRoot(async (root) => {
      const dev = statSync("/").dev;
      const major = Math.floor(dev / 256) & 0xfff, minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
      const r = await box(root, ["run", "sh", "-c", `mknod /disk b ${major} ${minor} && echo made; head -c 512 /disk > /dev/null && echo READ; mkdir -p /m; mount /disk /m && echo MOUNTED; mknod /dev/disk b ${major} ${minor} && head -c 1 /dev/disk >/dev/null && echo READ-DEV; true`]);
      expect(r.stdout).toBe("made\n");
      expect(r.stderr).toContain("Permission denied");
    }));

  test("the helper cannot be overwritten through /proc/PID/exe (CVE-2019-5736)", () =>
    withRoot(async (root) => {
      // By default PID 1 is out of reach; with SYS_PTRACE it is reachable, and its memfd is sealed.
      const r = await inside(root, "/probe exe 1; /probe exe 1", []);
      expect(r.stdout.trim().split("\n")[0]).toMatch(/^errno (1|13)$/);
      const traced = await inside(root, "/probe exe 1; /probe seals 1", ["--cap-add", "SYS_PTRACE"]);
      const [write, seals] = traced.stdout.trim().split("\n");
      expect(write).toMatch(/^errno (1|13|26)$/);
      // Why: the memfd is sealed against writing, growing and shrinking, and the seals are sealed.
      // F_SEAL_SEAL 1 | F_SEAL_SHRINK 2 | F_SEAL_GROW 4 | F_SEAL_WRITE 8
      expect(seals).toBe("seals 0xf");
      // The same from the host, on the supervisor of a running container.
      const id = (await box(root, ["run", "-d", "--name", "c", "sleep", "60"])).stdout.trim();
      const sup = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ")[0];
      expect((await run([await probeOnHost(), "seals", sup!])).stdout).toBe("seals 0xf\n");
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
      // And the next container starts from an intact helper.
      expect((await box(root, ["run", "echo", "intact"])).stdout).toBe("intact\n");
    }));

  test("box's own processes are out of reach: no /proc/PID/root leads to the host, the supervisor cannot be traced or signalled", () =>
    withRoot(async (root) => {
      const marker = join(work, `host-only-${Date.now()}`);
      writeFileSync(marker, "host");
      const id = (await box(root, ["run", "-d", "--cap-add", "SYS_PTRACE", "--name", "c", "sleep", "60"])).stdout.trim();
      const sup = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ")[0];
      await copyProbe(root, "c");
      // PTRACE_ATTACH is 16. SYS_PTRACE lets the call through the filter: the kernel decides.
      const r = await box(root, ["exec", "c", "sh", "-c",
        `for p in /proc/[0-9]*; do [ -e $p/root${marker} ] && echo "host root via $p"; done; /probe syscall ${NR.ptrace} 16 ${sup}; /probe syscall ${NR.kill} ${sup} 0; /probe syscall ${NR.pidfd_open} ${sup} 0; echo done`]);
      expect(r.stdout).toBe("errno 3\nerrno 3\nerrno 3\ndone\n");
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("mounts made inside (with SYS_ADMIN) never propagate to the host", () =>
    withRoot(async (root) => {
      const dir = await rootfsWithProbe();
      try {
        const script = "mount -t tmpfs none /mnt && echo x > /mnt/f && mount --bind /mnt /tmp && touch /ready && sleep 60";
        expect((await box(root, ["run", "-d", "--cap-add", "SYS_ADMIN", "--rootfs", dir, "--name", "c", "sh", "-c", script])).code).toBe(0);
        for (let i = 0; i < 100 && !existsSync(join(dir, "ready")); i++) await Bun.sleep(20);
        expect(existsSync(join(dir, "ready"))).toBe(true);
        expect(readdirSync(join(dir, "mnt"))).toEqual([]);
        expect(readdirSync(join(dir, "tmp"))).toEqual([]);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
        expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
      } finally {
        removeRoot(dir);
      }
    }));
});

describe("escape suite: clean-up", () => {
  test("a container that nests directories past PATH_MAX, and links to host paths, is removed completely, the host paths untouched", () =>
    withRoot(async (root) => {
      const target = tempDir("box-link-target-");
      try {
        writeFileSync(join(target, "keep"), "host");
        // 1500 levels of "dddd/": 7500 bytes of path, past PATH_MAX (4096).
        const script = `ln -s ${target} /link-to-host && ln -s ${target} /tmp/other && /probe nest 1500 dddd`;
        const r = await inside(root, script);
        expect(r.stdout).toBe("depth 1500\n");
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        // withRoot checks that the container's directory is gone; the links' target stays whole.
        expect(readdirSync(target)).toEqual(["keep"]);
      } finally {
        removeRoot(target);
      }
    }), 30_000);
});

describe("escape suite: hostile root filesystems", () => {
  async function rootfs(): Promise<string> {
    const dir = tempDir("box-hostile-");
    const r = await run(["tar", "-xzf", ALPINE_TARBALL, "-C", dir]);
    if (r.code !== 0) throw new Error(r.stderr);
    return dir;
  }

  for (const [what, link] of [["/proc", "proc"], ["/dev", "dev"], ["/sys", "sys"], ["/etc/hostname", "etc/hostname"], ["/etc/hosts", "etc/hosts"]] as const) {
    test(`a rootfs whose ${what} is a symlink to a host path is refused, and the host path is untouched`, () =>
      withRoot(async (root) => {
        const dir = await rootfs();
        const target = tempDir("box-host-target-");
        try {
          writeFileSync(join(target, "marker"), "host");
          const path = join(dir, link);
          await run(["rm", "-rf", path]);
          symlinkSync(what.startsWith("/etc") ? join(target, "marker") : target, path);
          const r = await box(root, ["run", "--rootfs", dir, "/bin/true"]);
          expect(r.code).toBe(125);
          expect(r.stderr).toContain(what);
          expect(readdirSync(target)).toEqual(["marker"]);
          expect(readFileSync(join(target, "marker"), "utf8")).toBe("host");
          expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(target);
        } finally {
          removeRoot(dir);
          removeRoot(target);
        }
      }));
  }

  test("a rootfs whose /dev/null is a symlink to a host file: the container's /dev is its own, the host file untouched", () =>
    withRoot(async (root) => {
      const dir = await rootfs();
      const target = tempDir("box-host-target-");
      try {
        writeFileSync(join(target, "victim"), "host");
        mkdirSync(join(dir, "dev"), { recursive: true });
        symlinkSync(join(target, "victim"), join(dir, "dev/null"));
        const r = await box(root, ["run", "--rootfs", dir, "sh", "-c", "echo overwrite > /dev/null; stat -c '%t:%T' /dev/null"]);
        expect(r.stdout).toBe("1:3\n");
        expect(readFileSync(join(target, "victim"), "utf8")).toBe("host");
        expect(readlinkSync(join(dir, "dev/null"))).toBe(join(target, "victim"));
      } finally {
        removeRoot(dir);
        removeRoot(target);
      }
    }));
});
