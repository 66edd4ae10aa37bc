// Detached containers and the commands around them, through dist/box, each test with its own root.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, scopeEnv, withRoot } from "../e2e/harness";

const ID = /^[0-9a-f]{64}\n$/;

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await Bun.sleep(25);
  }
  return true;
}

interface Seen {
  id: string;
  name: string;
  status: string;
  statusText: string;
  pid: number;
  exitCode: number;
}

/** ps as a script reads docker's (one JSON object per line), with inspect's State for each. */
async function ps(root: string, all = true): Promise<Seen[]> {
  const r = await box(root, ["ps", ...(all ? ["-a"] : []), "--no-trunc", "--format", "{{json .}}"]);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { ID: string; Names: string; State: string; Status: string });
  if (rows.length === 0) return [];
  const docs = JSON.parse((await box(root, ["inspect", "--type", "container", ...rows.map((x) => x.ID)])).stdout) as Array<{ Id: string; State: { Pid: number; ExitCode: number } }>;
  return rows.map((row) => {
    const doc = docs.find((d) => d.Id === row.ID);
    return { id: row.ID, name: row.Names, status: row.State, statusText: row.Status, pid: doc?.State.Pid ?? 0, exitCode: doc?.State.ExitCode ?? -1 };
  });
}

describe("box run -d", () => {
  test("prints the id at once; the container keeps running after box returned; logs, stop, rm", () =>
    withRoot(async (root) => {
      const t0 = Date.now();
      const r = await box(root, ["run", "-d", "--name", "ticker", "sh", "-c", "echo started; echo to-stderr >&2; while true; do sleep 0.1; done"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(ID);
      expect(r.stderr).toBe("");
      expect(Date.now() - t0).toBeLessThan(5000);
      const id = r.stdout.trim();
      const [c] = await ps(root, false);
      expect(c).toMatchObject({ id, name: "ticker", status: "running" });
      expect(c!.statusText).toMatch(/^Up /);
      expect(existsSync(`/proc/${c!.pid}`)).toBe(true);
      // Each stream comes back on its own: stdout on stdout, stderr on stderr.
      expect(await until(async () => {
        const logs = await box(root, ["logs", "ticker"]);
        return logs.stdout === "started\n" && logs.stderr === "to-stderr\n";
      })).toBe(true);
      const stop = await box(root, ["stop", "-t", "2", "ticker"]);
      expect(stop).toMatchObject({ code: 0, stdout: "ticker\n" });
      const [after] = await ps(root);
      expect(after).toMatchObject({ status: "exited", exitCode: 143 });
      expect(after!.statusText).toMatch(/^Exited \(143\) .* ago$/);
      expect((await box(root, ["rm", "ticker"])).code).toBe(0);
      expect(await ps(root)).toEqual([]);
    }));

  test("--rm removes a detached container when it exits; -dit keeps a shell waiting on its terminal; -it needs one", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--rm", "sh", "-c", "sleep 0.3"]);
      expect(r.stdout).toMatch(ID);
      expect(await until(async () => (await ps(root)).length === 0)).toBe(true);
      const dit = await box(root, ["run", "-dit", "--name", "shell", "alpine", "sh"]);
      expect(dit).toMatchObject({ code: 0, stderr: "" });
      await Bun.sleep(300);
      expect((await ps(root))[0]).toMatchObject({ name: "shell", status: "running" });
      expect((await box(root, ["exec", "shell", "readlink", "/proc/2/fd/0"])).stdout).toMatch(/^\/dev\/pts\/0\n$/);
      expect((await box(root, ["rm", "-f", "shell"])).code).toBe(0);
      // docker's words and status for -it without a terminal on stdin.
      const bad = await box(root, ["run", "-it", "sh"], { stdin: "" });
      expect(bad).toMatchObject({ code: 1, stdout: "", stderr: "box: the input device is not a TTY\n" });
    }));

  test("a detached container that fails to start says why, exit 127, and is kept as exited", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--name", "broken", "alpine", "no-such-program"]);
      expect(r).toMatchObject({ code: 127, stdout: "", stderr: "box: no-such-program: command not found in the container\n" });
      expect(await ps(root)).toMatchObject([{ name: "broken", status: "exited", exitCode: 127 }]);
      expect((await box(root, ["rm", "broken"])).code).toBe(0);
    }));
});

describe("box ps, inspect, logs", () => {
  test("ps: running only by default, -a for all, -q for ids, a table by default", () =>
    withRoot(async (root) => {
      const a = (await box(root, ["run", "-d", "--name", "up", "sleep", "30"])).stdout.trim();
      expect((await box(root, ["run", "--name", "done", "sh", "-c", "exit 3"])).code).toBe(3);
      expect((await ps(root, false)).map((c) => c.name)).toEqual(["up"]);
      expect((await ps(root)).map((c) => `${c.name} ${c.status}`).sort()).toEqual(["done exited", "up running"]);
      expect((await box(root, ["ps", "-q"])).stdout).toBe(a.slice(0, 12) + "\n");
      const table = (await box(root, ["ps", "-a"])).stdout.split("\n");
      expect(table[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
      expect(table.find((l) => l.endsWith(" done"))).toMatch(/alpine:3\.20\.3\s+"sh -c exit 3"\s+.* ago\s+Exited \(3\) .* ago\s+done$/);
      expect((await box(root, ["rm", "-f", "up", "done"])).code).toBe(0);
    }));

  test("inspect: docker's document: id, name, image, command, env, state, limits", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "svc", "-m", "64m", "-e", "A=1", "sleep", "30"])).stdout.trim();
      const [doc] = JSON.parse((await box(root, ["inspect", "svc"])).stdout);
      expect(doc).toMatchObject({ Id: id, Name: "/svc", Path: "sleep", Args: ["30"], Config: { Image: "alpine:3.20.3", Cmd: ["sleep", "30"] }, State: { Status: "running", Running: true, ExitCode: 0, OOMKilled: false }, HostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 2048 } });
      expect(doc.Config.Env).toContain("A=1");
      expect(doc.State.Pid).toBeGreaterThan(1);
      await box(root, ["rm", "-f", "svc"]);
    }));

  test("logs --tail and -f (which ends with the container)", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "count", "sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 0.6; echo late"]);
      expect(await until(async () => (await box(root, ["logs", "count"])).stdout.includes("line 5"))).toBe(true);
      expect((await box(root, ["logs", "--tail", "2", "count"])).stdout).toBe("line 4\nline 5\n");
      const f = await box(root, ["logs", "-f", "count"], { timeoutMs: 10_000 });
      expect(f.stdout).toBe("line 1\nline 2\nline 3\nline 4\nline 5\nlate\n");
      await box(root, ["rm", "count"]);
    }));
});

describe("box exec", () => {
  test("joins the container: its hostname, processes, cgroup, capabilities and seccomp; the exit code is the command's", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "target", "--hostname", "inside", "sh", "-c", "touch /marker; exec sleep 30"]);
      await Bun.sleep(200);
      const r = await box(root, ["exec", "target", "sh", "-c", "hostname; ls /marker; ps -o comm | grep -c sleep; grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/self/cgroup | grep -c ':/$'"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.slice(0, 6)).toEqual(["inside", "/marker", "1", "CapBnd:\t00000000a80425fb", "NoNewPrivs:\t1", "Seccomp:\t2"]);
      expect((await box(root, ["exec", "target", "sh", "-c", "exit 7"])).code).toBe(7);
      const nf = await box(root, ["exec", "target", "nope"]);
      expect(nf).toMatchObject({ code: 127, stderr: "box: nope: command not found in the container\n" });
      const opts = await box(root, ["exec", "-e", "X=y", "-w", "/tmp", "-u", "nobody", "target", "sh", "-c", "echo $X $PWD $(id -u)"]);
      expect(opts.stdout).toBe("y /tmp 65534\n");
      const piped = await box(root, ["exec", "-i", "target", "cat"], { stdin: "through\n" });
      expect(piped.stdout).toBe("through\n");
      await box(root, ["rm", "-f", "target"]);
    }));

  test("-it gets a new pty in the container", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "tty", "sleep", "30"]);
      let out = "";
      const proc = Bun.spawn([BOX, "--root", root, "exec", "-it", "tty", "sh", "-c", "tty; stty size; exit 4"], {
        terminal: { cols: 90, rows: 30, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
        env: { ...process.env, ...scopeEnv() },
      });
      expect(await proc.exited).toBe(4);
      proc.terminal?.close();
      expect(out).toMatch(/\/dev\/pts\/\d+\r\n30 90\r\n/);
      await box(root, ["rm", "-f", "tty"]);
    }));
});

describe("box stop, kill, rm: and their errors", () => {
  test("kill -s USR1 reaches a trapping command; kill (SIGKILL) ends it with 137", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "trap", "sh", "-c", "trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.1; done"]);
      expect(await until(async () => (await box(root, ["logs", "trap"])).stdout.includes("ready"))).toBe(true);
      expect((await box(root, ["kill", "-s", "USR1", "trap"])).code).toBe(0);
      expect(await until(async () => (await box(root, ["logs", "trap"])).stdout.includes("got-usr1"))).toBe(true);
      expect((await box(root, ["kill", "trap"])).code).toBe(0);
      expect(await until(async () => (await ps(root))[0]?.status === "exited")).toBe(true);
      expect((await ps(root))[0]).toMatchObject({ exitCode: 137 });
      await box(root, ["rm", "trap"]);
    }));

  test("unknown container, ambiguous prefix, exec into a stopped one, rm of a running one, stop of a stopped one, a bad signal", () =>
    withRoot(async (root) => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await box(root, ["run", "-d", "sleep", "30"])).stdout.trim());
      await box(root, ["run", "--name", "stopped", "true"]);
      // docker's statuses: 1 for what went wrong with a container, 125 for a bad command line.
      const cases: Array<[string[], number, string]> = [
        [["exec", "ghost", "true"], 1, "box: no such container: ghost"],
        [["exec", "stopped", "true"], 1, "box: container stopped is not running"],
        [["rm", ids[0]!.slice(0, 12)], 1, `box: container ${ids[0]!.slice(0, 12)} is running: stop it first, or use -f`],
        [["kill", "stopped"], 1, "box: container stopped is not running"],
        [["kill", "-s", "NOPE", "stopped"], 125, 'box: invalid signal "NOPE"'],
        [["inspect", "ghost"], 1, "box: no such object: ghost"],
        [["stop", "ghost"], 1, "box: no such container: ghost"],
      ];
      for (const [args, code, message] of cases) {
        const r = await box(root, args);
        expect({ args, code: r.code, err: r.stderr.trim() }).toEqual({ args, code, err: message });
      }
      // Stopping a container that is not running is fine, as in docker.
      expect(await box(root, ["stop", "stopped"])).toMatchObject({ code: 0, stdout: "stopped\n", stderr: "" });
      // rm -f of one that does not exist: a warning, and status 0 (docker's).
      expect(await box(root, ["rm", "-f", "ghost"])).toMatchObject({ code: 0, stdout: "", stderr: "box: warning: no such container: ghost\n" });
      // An ambiguous prefix, when two ids share one: the empty prefix matches them all.
      const amb = await box(root, ["inspect", ids[0]!.slice(0, 1) === ids[1]!.slice(0, 1) ? ids[0]!.slice(0, 1) : ""]);
      expect(amb.code).toBe(1);
      expect(amb.stderr).toMatch(/^box: (the container prefix ".*" is ambiguous: it matches [0-9a-f]{12}(, [0-9a-f]{12})+|no such object: )\n$/);
      // A unique prefix works.
      expect((await box(root, ["inspect", ids[2]!.slice(0, 10)])).code).toBe(0);
      expect((await box(root, ["rm", "-f", ...ids, "stopped"])).code).toBe(0);
    }));
});

describe("crashes and concurrency", () => {
  test("kill -9 of a detached container's supervisor: ps -a says it is not running, rm cleans everything", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "victim", "-m", "64m", "sleep", "30"])).stdout.trim();
      const [sup] = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ");
      process.kill(Number(sup), "SIGKILL");
      expect(await until(async () => (await ps(root))[0]?.status === "dead")).toBe(true);
      expect((await ps(root))[0]!.statusText).toBe("Dead");
      expect((await box(root, ["rm", "victim"])).code).toBe(0);
      // withRoot: no process, cgroup, mount or file of it remains.
    }));

  test("a reboot (everything killed, /run cleared) leaves containers ps -a shows truthfully and rm cleans", () =>
    withRoot(async (root) => {
      const ids: string[] = [];
      for (const n of ["a", "b"]) ids.push((await box(root, ["run", "-d", "--name", n, "sleep", "30"])).stdout.trim());
      for (const id of ids) {
        const [sup, , init] = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ");
        process.kill(Number(init), "SIGKILL");
        process.kill(Number(sup), "SIGKILL");
      }
      rmSync(join(root, "run"), { recursive: true, force: true });
      await Bun.sleep(200);
      const list = await ps(root);
      expect(list.map((c) => c.status)).toEqual(["dead", "dead"]);
      expect((await box(root, ["ps"])).stdout.split("\n").filter(Boolean)).toHaveLength(1); // header only
      expect((await box(root, ["rm", "a", "b"])).code).toBe(0);
      expect(readdirSync(join(root, "containers"))).toEqual([]);
    }));

  test("20 box run -d at once all succeed with distinct ids; 20 box exec into one at once all succeed", () =>
    withRoot(async (root) => {
      const runs = await Promise.all(Array.from({ length: 20 }, () => box(root, ["run", "-d", "sleep", "30"])));
      expect(runs.map((r) => `${r.code} ${r.stderr}`)).toEqual(Array(20).fill("0 "));
      expect(new Set(runs.map((r) => r.stdout)).size).toBe(20);
      expect((await ps(root, false)).length).toBe(20);
      const target = runs[0]!.stdout.trim();
      const execs = await Promise.all(Array.from({ length: 20 }, (_, i) => box(root, ["exec", target.slice(0, 12), "echo", `e${i}`])));
      execs.forEach((r, i) => expect({ i, code: r.code, out: r.stdout }).toEqual({ i, code: 0, out: `e${i}\n` }));
      expect((await box(root, ["rm", "-f", ...runs.map((r) => r.stdout.trim())])).code).toBe(0);
    }), 60_000);

  test("two runs with the same --name at once: exactly one wins, the other gets a clear error", () =>
    withRoot(async (root) => {
      const both = await Promise.all([0, 1].map(() => box(root, ["run", "-d", "--name", "only", "sleep", "30"])));
      const codes = both.map((r) => r.code).sort();
      expect(codes).toEqual([0, 125]);
      const loser = both.find((r) => r.code === 125)!;
      expect(loser.stderr).toMatch(/^box: the container name "only" is already in use by container [0-9a-f]{12}: remove that container or choose another name\n$/);
      expect((await ps(root)).length).toBe(1);
      expect((await box(root, ["rm", "-f", "only"])).code).toBe(0);
    }));
});

describe("more crash and size cases", () => {
  test("the log has a size cap: past 10 MiB it is rotated, keeping the newest output", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "chatty", "sh", "-c", "head -c 12000000 /dev/zero | tr '\\\\0' x; echo; echo the-end"])).stdout.trim();
      expect(await until(async () => (await ps(root))[0]?.status === "exited", 20_000)).toBe(true);
      const dir = join(root, "containers", id);
      const { statSync } = await import("node:fs");
      expect(existsSync(join(dir, "log.1"))).toBe(true);
      expect(statSync(join(dir, "log")).size + statSync(join(dir, "log.1")).size).toBeLessThanOrEqual(2 * 10 * 1024 * 1024 + 65536);
      expect((await box(root, ["logs", "--tail", "1", "chatty"])).stdout).toBe("the-end\n");
      await box(root, ["rm", "chatty"]);
    }), 30_000);

  test("kill -9 of box in the middle of run -d leaves nothing running, and nothing the next commands cannot clean", () =>
    withRoot(async (root) => {
      for (const delay of [5, 40, 120]) {
        const proc = Bun.spawn([BOX, "--root", root, "run", "-d", "sleep", "30"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BOX_NETWORK: "none", ...scopeEnv() } });
        await Bun.sleep(delay);
        proc.kill("SIGKILL");
        await proc.exited;
      }
      await Bun.sleep(100);
      // Whatever got far enough is either running (and then stoppable) or not; none claims to run wrongly.
      for (const c of await ps(root)) {
        if (c.status === "running") expect(existsSync(`/proc/${c.pid}`)).toBe(true);
      }
      const ids = (await ps(root)).map((c) => c.id);
      if (ids.length) expect((await box(root, ["rm", "-f", ...ids])).code).toBe(0);
      expect((await box(root, ["run", "true"])).code).toBe(0); // collects any half-made one
    }));
});
