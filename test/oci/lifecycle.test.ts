/**
 * box-runc's lifecycle, driven as conmon and the runtime spec's tools drive it: create leaves the
 * container set up and held before its command; start runs it; state follows it; kill signals it;
 * delete removes everything; run and run -d; exec in every form podman uses; ps, pause, resume and
 * update. Each test ends with no state, process, cgroup or mount left (harness.ts).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOXRUNC, consoleReceiver, create, detached, status, until, withEnv } from "./harness";

describe("box-runc: create, start, state, kill, delete", () => {
  test("create holds the container set up (namespaces, root, cgroups) but its command not run; start runs it", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "echo ran > /ran; echo out; echo err >&2"]);
      const pidFile = join(env.dir, "pid");
      const c = await create(env, "c1", b, ["--pid-file", pidFile]);
      expect(c.code).toBe(0);
      const state = JSON.parse((await env.runc(["state", "c1"])).stdout);
      expect(state).toMatchObject({ ociVersion: "1.1.0", id: "c1", status: "created", bundle: b, rootfs: join(b, "rootfs"), annotations: {} });
      // --pid-file holds the pid alone, as runc writes it; that process is in the container's
      // namespaces and cgroup already, and is not yet the command.
      expect(readFileSync(pidFile, "utf8")).toBe(String(state.pid));
      expect(readFileSync(`/proc/${state.pid}/cmdline`, "utf8")).toStartWith("box-helper");
      expect(readFileSync(`/proc/${state.pid}/cgroup`, "utf8")).toContain(env.cgroupParent);
      for (const ns of ["mnt", "pid", "uts", "ipc", "net"]) expect(readlinkSync(`/proc/${state.pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
      expect(existsSync(join(b, "rootfs/ran"))).toBe(false);
      // A second create of the same id fails, and changes nothing.
      const again = await create(env, "c1", b);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("container with id exists: c1");
      expect((await env.runc(["start", "c1"])).code).toBe(0);
      expect(await until(async () => (await status(env, "c1")) === "stopped")).toBe(true);
      expect(readFileSync(join(b, "rootfs/ran"), "utf8")).toBe("ran\n");
      expect(readFileSync(c.out, "utf8")).toBe("out\n");
      expect(readFileSync(c.err, "utf8")).toBe("err\n");
      // Started once: a second start is refused.
      const twice = await env.runc(["start", "c1"]);
      expect([twice.code, twice.stderr]).toEqual([1, expect.stringContaining("cannot start a container that has stopped")]);
      expect(JSON.parse((await env.runc(["state", "c1"])).stdout).pid).toBe(0);
      expect((await env.runc(["delete", "c1"])).code).toBe(0);
      expect((await env.runc(["state", "c1"])).stderr).toContain("container does not exist");
      expect(existsSync(join(env.root, "c1"))).toBe(false);
    }));

  test("kill: the signal reaches the command; a stopped container is not running; delete refuses a running one without --force", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "trap 'echo got-usr1 > /usr1; exit 7' USR1; while :; do sleep 0.05; done"]);
      expect((await create(env, "k", b)).code).toBe(0);
      expect((await env.runc(["start", "k"])).code).toBe(0);
      expect(await status(env, "k")).toBe("running");
      const refused = await env.runc(["delete", "k"]);
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining("cannot delete container k that is not stopped: running")]);
      expect(await status(env, "k")).toBe("running");
      expect((await env.runc(["kill", "k", "USR1"])).code).toBe(0);
      expect(await until(async () => (await status(env, "k")) === "stopped")).toBe(true);
      expect(readFileSync(join(b, "rootfs/usr1"), "utf8")).toBe("got-usr1\n");
      const late = await env.runc(["kill", "k", "KILL"]);
      expect([late.code, late.stderr]).toEqual([1, expect.stringContaining("container not running")]);
      expect((await env.runc(["kill", "k", "NOSUCH"])).stderr).toContain('unknown signal \\"NOSUCH\\"');
      expect((await env.runc(["delete", "k"])).code).toBe(0);
    }));

  test("kill --all and delete --force: every process of the container goes, in a PID namespace of the host's too", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
      });
      expect((await create(env, "a", b)).code).toBe(0);
      expect((await env.runc(["start", "a"])).code).toBe(0);
      expect(await until(() => env.cgroupDirs(`${env.cgroupParent}/1`).some((d) => readFileSync(join(d, "cgroup.procs"), "utf8").trim().split("\n").length >= 3))).toBe(true);
      expect((await env.runc(["kill", "--all", "a", "TERM"])).code).toBe(0);
      expect(await until(async () => (await status(env, "a")) === "stopped")).toBe(true);
      expect((await env.runc(["delete", "--force", "a"])).code).toBe(0);
      // --force on a container that is not there: nothing to do, no error (as runc).
      expect((await env.runc(["delete", "--force", "a"])).code).toBe(0);
      expect((await env.runc(["delete", "a"])).code).toBe(1);
    }));

  test("a created container can be killed and deleted; delete --force removes a held one", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["touch", "/never"]);
      expect((await create(env, "h", b)).code).toBe(0);
      const refused = await env.runc(["delete", "h"]);
      expect(refused.stderr).toContain("not stopped: created");
      expect((await env.runc(["delete", "--force", "h"])).code).toBe(0);
      expect(existsSync(join(b, "rootfs/never"))).toBe(false);
      expect((await create(env, "h2", b)).code).toBe(0);
      expect((await env.runc(["kill", "h2", "KILL"])).code).toBe(0);
      expect(await until(async () => (await status(env, "h2")) === "stopped")).toBe(true);
      expect((await env.runc(["delete", "h2"])).code).toBe(0);
    }));

  test("a command that is not in the container fails the create (not the start), as with runc", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["nosuchcmd"]);
      const c = await create(env, "m", b);
      expect([c.code, c.stderr]).toEqual([127, expect.stringContaining("nosuchcmd: command not found in the container")]);
      expect(existsSync(join(env.root, "m"))).toBe(false);
      const user = await env.bundle(["sh", "-c", "id -u > /tmp/uid"], (c) => (c.process.user = { uid: 1000, gid: 1000 }));
      expect((await create(env, "u", user)).code).toBe(0);
      expect((await env.runc(["start", "u"])).code).toBe(0);
      // The shell makes the file before id writes into it: wait for the line, not the file.
      const uid = join(user, "rootfs/tmp/uid");
      expect(await until(() => existsSync(uid) && readFileSync(uid, "utf8").endsWith("\n"))).toBe(true);
      expect(readFileSync(uid, "utf8")).toBe("1000\n");
      expect(await until(async () => (await status(env, "u")) === "stopped")).toBe(true);
      expect((await env.runc(["delete", "u"])).code).toBe(0);
    }));

  test("a config without process: created, never started", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["true"], (c) => delete c.process);
      expect((await create(env, "np", b)).code).toBe(0);
      const r = await env.runc(["start", "np"]);
      expect([r.code, r.stderr]).toEqual([1, expect.stringContaining("without a process")]);
      expect(await until(async () => (await status(env, "np")) === "stopped")).toBe(true);
      expect((await env.runc(["delete", "np"])).code).toBe(0);
      const run = await env.runc(["run", "--bundle", b, "np2"]);
      expect(run.stderr).toContain("process is missing");
    }));

  test("a damaged state file is named; delete --force removes the directory anyway", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["true"]);
      expect((await create(env, "dmg", b)).code).toBe(0);
      expect((await env.runc(["kill", "dmg", "KILL"])).code).toBe(0);
      expect(await until(async () => (await status(env, "dmg")) === "stopped")).toBe(true);
      writeFileSync(join(env.root, "dmg/state.json"), '{"id": "dmg", "bund');
      const r = await env.runc(["state", "dmg"]);
      expect([r.code, r.stderr]).toEqual([1, expect.stringContaining(`the state of container dmg (${join(env.root, "dmg/state.json")}) is damaged`)]);
      expect((await env.runc(["delete", "dmg"])).code).toBe(1);
      const forced = await env.runc(["delete", "--force", "dmg"]);
      expect([forced.code, forced.stderr]).toEqual([0, expect.stringContaining("its directory is removed")]);
      expect(existsSync(join(env.root, "dmg"))).toBe(false);
      // What the state named is not known any more: the test removes the container's cgroups.
      for (const d of env.cgroupDirs(`${env.cgroupParent}/1`)) rmdirSync(d);
    }));

  test("list shows the containers as a table, JSON and ids", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sleep", "100"]);
      expect((await create(env, "l1", b)).code).toBe(0);
      expect((await env.runc(["list", "-q"])).stdout).toBe("l1\n");
      expect(JSON.parse((await env.runc(["list", "--format", "json"])).stdout)).toEqual([expect.objectContaining({ id: "l1", status: "created" })]);
      expect((await env.runc(["list"])).stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\nl1\s+\d+\s+created\s/);
      expect((await env.runc(["delete", "--force", "l1"])).code).toBe(0);
    }));
});

describe("box-runc run", () => {
  test("in the foreground: the command's stdio and exit status, then nothing is left (as runc run)", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "read x; echo got $x; echo to-err >&2; exit 3"]);
      const r = await env.runc(["run", "--bundle", b, "fg"], { stdin: "hello\n" });
      expect([r.code, r.stdout, r.stderr]).toEqual([3, "got hello\n", "to-err\n"]);
      expect(existsSync(join(env.root, "fg"))).toBe(false);
    }));

  test("--keep leaves the stopped container for delete; -d returns once the command runs", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["true"]);
      expect((await env.runc(["run", "--keep", "--bundle", b, "kept"])).code).toBe(0);
      expect(await status(env, "kept")).toBe("stopped");
      expect((await env.runc(["delete", "kept"])).code).toBe(0);
      const d = await env.bundle(["sleep", "100"]);
      const pidFile = join(env.dir, "d.pid");
      const proc = Bun.spawn([BOXRUNC, "--root", env.root, "run", "-d", "--pid-file", pidFile, "--bundle", d, "det"], { stdout: "ignore", stderr: "pipe" });
      expect(await proc.exited).toBe(0);
      expect(await status(env, "det")).toBe("running");
      expect(readFileSync(`/proc/${readFileSync(pidFile, "utf8")}/cmdline`, "utf8")).toBe("sleep\u0000100\u0000");
      expect((await env.runc(["delete", "--force", "det"])).code).toBe(0);
    }));

  test("a terminal from the console socket: create sends the pty master, sized as consoleSize", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "read x; echo tty=$(tty) input=$x; stty size"], (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 33, width: 101 };
      });
      const sock = join(env.dir, "console.sock");
      const receiver = await consoleReceiver(sock, "typed");
      expect((await create(env, "t", b, ["--console-socket", sock])).code).toBe(0);
      expect((await env.runc(["start", "t"])).code).toBe(0);
      const out = await receiver.output();
      expect(out).toStartWith("size=33x101\n");
      expect(out).toContain("tty=/dev/pts/0 input=typed");
      expect(out).toContain("33 101");
      expect(await until(async () => (await status(env, "t")) === "stopped")).toBe(true);
      expect((await env.runc(["delete", "t"])).code).toBe(0);
      // Detached with a terminal needs the socket.
      const no = await create(env, "t2", b);
      expect([no.code, no.stderr]).toEqual([1, expect.stringContaining("without setting console socket")]);
    }));
});

describe("box-runc exec, ps, pause, resume, update", () => {
  test("exec: from the container's process or a process file, detached with a pid file, or in the foreground with its status", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sleep", "1000"], (c) => c.process.env.push("FROM_CONFIG=yes"));
      expect((await create(env, "e", b)).code).toBe(0);
      expect((await env.runc(["start", "e"])).code).toBe(0);
      const fg = await env.runc(["exec", "-e", "EXTRA=1", "--cwd", "/tmp", "e", "sh", "-c", "echo $FROM_CONFIG $EXTRA $(pwd) $(cat /proc/1/cmdline | tr '\\0' ' '); exit 5"]);
      expect([fg.code, fg.stdout]).toEqual([5, "yes 1 /tmp sleep 1000\n"]);
      const user = await env.runc(["exec", "-u", "1000:1000", "e", "id"]);
      expect(user.stdout).toBe("uid=1000 gid=1000\n");
      const procFile = join(env.dir, "process.json");
      writeFileSync(procFile, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ["sh", "-c", "echo from-file > /exec-out; sleep 100"], env: ["PATH=/bin:/usr/bin"], cwd: "/", capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] } }));
      const pidFile = join(env.dir, "exec.pid");
      const det = await detached(env, ["exec", "--process", procFile, "--detach", "--pid-file", pidFile, "e"]);
      expect(det.code).toBe(0);
      const pid = readFileSync(pidFile, "utf8");
      expect(await until(() => existsSync(join(b, "rootfs/exec-out")))).toBe(true);
      expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/CapEff:\s+0000000000000020/);
      const ps = await env.runc(["ps", "--format", "json", "e"]);
      expect(JSON.parse(ps.stdout)).toContain(Number(pid));
      const bad = await env.runc(["exec", "e", "nosuch"]);
      expect([bad.code, bad.stderr]).toEqual([127, expect.stringContaining("nosuch: command not found in the container")]);
      expect((await env.runc(["delete", "--force", "e"])).code).toBe(0);
      const stopped = await env.runc(["exec", "e", "true"]);
      expect(stopped.stderr).toContain("container does not exist");
    }));

  test("exec --tty through a console socket", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sleep", "1000"]);
      expect((await create(env, "et", b)).code).toBe(0);
      expect((await env.runc(["start", "et"])).code).toBe(0);
      const sock = join(env.dir, "exec.sock");
      const receiver = await consoleReceiver(sock);
      const r = await env.runc(["exec", "--tty", "--detach", "--console-socket", sock, "et", "sh", "-c", "tty; echo done"]);
      expect(r.code).toBe(0);
      expect(await receiver.output()).toMatch(/\/dev\/pts\/\d+\r\ndone\r\n/);
      expect((await env.runc(["delete", "--force", "et"])).code).toBe(0);
    }));

  test("pause freezes every process, resume thaws; update changes the limits of a running container", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["sh", "-c", "while :; do date +%s%N > /tick; sleep 0.02; done"], (c) => (c.linux.resources.pids = { limit: 100 }));
      expect((await create(env, "p", b)).code).toBe(0);
      expect((await env.runc(["start", "p"])).code).toBe(0);
      expect(await until(() => existsSync(join(b, "rootfs/tick")))).toBe(true);
      expect((await env.runc(["pause", "p"])).code).toBe(0);
      expect(await status(env, "p")).toBe("paused");
      const frozen = readFileSync(join(b, "rootfs/tick"), "utf8");
      await Bun.sleep(200);
      expect(readFileSync(join(b, "rootfs/tick"), "utf8")).toBe(frozen);
      expect((await env.runc(["pause", "p"])).stderr).toContain("already paused");
      expect((await env.runc(["resume", "p"])).code).toBe(0);
      expect(await until(() => readFileSync(join(b, "rootfs/tick"), "utf8") !== frozen)).toBe(true);
      const pids = env.cgroupDirs(`${env.cgroupParent}/1`).find((d) => existsSync(join(d, "pids.max")))!;
      expect(readFileSync(join(pids, "pids.max"), "utf8").trim()).toBe("100");
      expect((await env.runc(["update", "--pids-limit", "42", "p"])).code).toBe(0);
      expect(readFileSync(join(pids, "pids.max"), "utf8").trim()).toBe("42");
      const res = join(env.dir, "res.json");
      writeFileSync(res, JSON.stringify({ pids: { limit: 7 }, memory: { limit: 64 * 1024 * 1024 } }));
      expect((await env.runc(["update", "--resources", res, "p"])).code).toBe(0);
      expect(readFileSync(join(pids, "pids.max"), "utf8").trim()).toBe("7");
      const mem = env.cgroupDirs(`${env.cgroupParent}/1`).find((d) => existsSync(join(d, "memory.limit_in_bytes")) || existsSync(join(d, "memory.max")))!;
      expect(readFileSync(join(mem, existsSync(join(mem, "memory.max")) ? "memory.max" : "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
      expect((await env.runc(["update", "--resources", res, "--memory", "nonsense", "p"])).stderr).toContain("invalid --memory");
      expect((await env.runc(["delete", "--force", "p"])).code).toBe(0);
    }));
});
