// docker's lifecycle commands through dist/box: create, start, restart, wait, rename, top, stats,
// port, attach, info, version, system, and the container and image groups.
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, scopeEnv, withRoot } from "../e2e/harness";

async function inspect(root: string, name: string, format: string): Promise<string> {
  return (await box(root, ["inspect", "-f", format, name])).stdout.trim();
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await Bun.sleep(25);
  }
  return true;
}

describe("create, start, restart, wait", () => {
  test("create makes a container that runs nothing; start runs it and keeps its filesystem changes from run to run", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["create", "--name", "c", "alpine", "sh", "-c", "cat /count 2>/dev/null || echo 0 > /count; echo $(( $(cat /count) + 1 )) > /count; cat /count"])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(await inspect(root, "c", "{{.State.Status}} {{.State.StartedAt}}")).toBe("created 0001-01-01T00:00:00Z");
      // Detached by default: the name given is said once the command runs.
      expect(await box(root, ["start", "c"])).toMatchObject({ code: 0, stdout: "c\n", stderr: "" });
      expect(await box(root, ["wait", "c"])).toMatchObject({ code: 0, stdout: "0\n" });
      expect((await box(root, ["logs", "c"])).stdout).toBe("1\n"); // /count made by this run
      // start -a: attached, with the command's status; the file written by the first run is there.
      expect(await box(root, ["start", "-a", "c"])).toMatchObject({ code: 0, stdout: "1\n2\n" });
      expect(await box(root, ["start", "-a", "c"])).toMatchObject({ code: 0, stdout: "2\n3\n" });
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));

  test("start -a ends with the command's status; start -ai feeds it box's stdin; start of a running one is fine", () =>
    withRoot(async (root) => {
      await box(root, ["create", "--name", "fail", "alpine", "sh", "-c", "echo out; echo err >&2; exit 3"]);
      expect(await box(root, ["start", "-a", "fail"])).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
      await box(root, ["create", "-i", "--name", "cat", "alpine", "cat"]);
      expect(await box(root, ["start", "-ai", "cat"], { stdin: "piped\n" })).toMatchObject({ code: 0, stdout: "piped\n" });
      await box(root, ["run", "-d", "--name", "up", "sleep", "30"]);
      expect(await box(root, ["start", "up"])).toMatchObject({ code: 0, stdout: "up\n" });
      // Several at once: each said, and a missing one makes the status 1 (docker's).
      const many = await box(root, ["start", "fail", "ghost", "cat"]);
      expect(many.code).toBe(1);
      expect(many.stdout.split("\n").filter(Boolean).sort()).toEqual(["cat", "fail"]);
      expect(many.stderr).toBe("box: no such container: ghost\n");
      expect((await box(root, ["start", "-a", "fail", "cat"])).stderr).toBe("box: you cannot start and attach multiple containers at once\n");
      expect((await box(root, ["rm", "-f", "fail", "cat", "up"])).code).toBe(0);
    }));

  test("restart: a new start of the same container; wait: the exit codes, in order", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "r", "sh", "-c", "echo run; sleep 30"])).stdout.trim();
      const before = await inspect(root, "r", "{{.State.StartedAt}} {{.State.Pid}}");
      expect(await box(root, ["restart", "-t", "1", "r"])).toMatchObject({ code: 0, stdout: "r\n" });
      expect(await inspect(root, "r", "{{.Id}} {{.State.Status}}")).toBe(`${id} running`);
      expect(await inspect(root, "r", "{{.State.StartedAt}} {{.State.Pid}}")).not.toBe(before);
      expect(await until(async () => (await box(root, ["logs", "r"])).stdout === "run\nrun\n")).toBe(true);
      await box(root, ["run", "-d", "--name", "w3", "sh", "-c", "sleep 0.3; exit 3"]);
      await box(root, ["run", "-d", "--name", "w5", "sh", "-c", "exit 5"]);
      expect(await box(root, ["wait", "w3", "w5"])).toMatchObject({ code: 0, stdout: "3\n5\n" });
      expect(await box(root, ["wait", "ghost"])).toMatchObject({ code: 1, stderr: "box: no such container: ghost\n" });
      expect((await box(root, ["rm", "-f", "r", "w3", "w5"])).code).toBe(0);
    }), 30_000);
});

describe("rename, port, top, stats", () => {
  test("rename: the new name resolves, the old one is free; taken names and --rm running ones are refused", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "old", "sleep", "30"])).stdout.trim();
      expect(await box(root, ["rename", "old", "new"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect(await inspect(root, "new", "{{.Id}} {{.Name}}")).toBe(`${id} /new`);
      expect((await box(root, ["inspect", "old"])).code).toBe(1);
      await box(root, ["run", "-d", "--name", "other", "sleep", "30"]);
      expect((await box(root, ["rename", "new", "other"])).stderr).toMatch(/^box: the container name "other" is already in use by container [0-9a-f]{12}/);
      expect((await box(root, ["rename", "new", "new"])).code).toBe(1);
      await box(root, ["run", "-d", "--rm", "--name", "temp", "sleep", "30"]);
      expect((await box(root, ["rename", "temp", "t2"])).stderr).toBe("box: container temp was started with --rm: rename it before it starts, or stop it first\n");
      expect((await box(root, ["run", "--name", "old", "alpine", "true"])).code).toBe(0); // free again
      expect((await box(root, ["rm", "-f", "new", "other", "temp", "old"])).code).toBe(0);
    }));

  test("port: nothing published on a container without -p; a port it does not publish is docker's error", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "p", "sleep", "30"]);
      expect(await box(root, ["port", "p"])).toMatchObject({ code: 0, stdout: "" });
      expect(await box(root, ["port", "p", "80"])).toMatchObject({ code: 1, stderr: "box: no public port '80/tcp' published for p\n" });
      expect((await box(root, ["port", "p", "x"])).code).toBe(125);
      expect((await box(root, ["rm", "-f", "p"])).code).toBe(0);
    }));

  test("top: the container's processes as ps -ef, or through the host's ps with options", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "t", "sh", "-c", "sleep 31 & exec sleep 30"]);
      await Bun.sleep(200);
      const r = await box(root, ["top", "t"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      const commands = lines.slice(1).map((l) => l.split(/\s+/).slice(7).join(" ").replace(/--plan-fd \d+$/, "--plan-fd N")).sort();
      expect(commands).toEqual(["box-helper --plan-fd N", "sleep 30", "sleep 31"]);
      const pid = Number(await inspect(root, "t", "{{.State.Pid}}"));
      expect(lines.some((l) => l.split(/\s+/)[1] === String(pid))).toBe(true);
      const ps = await box(root, ["top", "t", "-o", "pid,comm"]);
      expect(ps.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/)[1]).sort()).toEqual(["COMMAND", "box-init", "sleep", "sleep"].sort());
      await box(root, ["stop", "-t", "0", "t"]);
      expect(await box(root, ["top", "t"])).toMatchObject({ code: 1, stderr: "box: container t is not running\n" });
      expect((await box(root, ["rm", "t"])).code).toBe(0);
    }));

  test("stats --no-stream: live figures from the container's cgroups, docker's columns and fields", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "busy", "-m", "64m", "sh", "-c", "while true; do :; done"]);
      await box(root, ["run", "-d", "--name", "idle", "sleep", "30"]);
      const table = await box(root, ["stats", "--no-stream"]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
      expect(lines).toHaveLength(3);
      const rows = (await box(root, ["stats", "--no-stream", "--format", "{{json .}}"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
      const busy = rows.find((r) => r.Name === "busy");
      expect(Object.keys(busy).sort()).toEqual(["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]);
      expect(Number(busy.CPUPerc.replace("%", ""))).toBeGreaterThan(20);
      expect(busy.MemUsage).toMatch(/^[\d.]+(B|KiB|MiB) \/ 64MiB$/);
      expect(busy.PIDs).toBe("2");
      expect((await box(root, ["stats", "--no-stream", "--format", "{{.Name}}", "idle"])).stdout).toBe("idle\n");
      expect((await box(root, ["rm", "-f", "busy", "idle"])).code).toBe(0);
    }), 30_000);
});

describe("attach", () => {
  test("a container whose supervisor offers no console, a stopped one: one sentence each, status 1", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "a", "sleep", "30"]);
      await box(root, ["create", "--name", "b", "alpine", "true"]);
      if (!existsSync(join(root, "run", `${(await inspect(root, "a", "{{.Id}}"))}.attach`))) {
        expect(await box(root, ["attach", "a"])).toMatchObject({ code: 1, stderr: "box: cannot attach to container a: its supervisor offers no console (this build of box's helper cannot attach yet)\n" });
      }
      expect(await box(root, ["attach", "b"])).toMatchObject({ code: 1, stderr: "box: you cannot attach to a stopped container, start it first\n" });
      expect((await box(root, ["rm", "-f", "a", "b"])).code).toBe(0);
    }));

  test("through a real pty, on the supervisor's console: input, window size, Ctrl-P Ctrl-Q, the exit status", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-dit", "--name", "sh1", "alpine", "sh"])).code).toBe(0);
      const session = (args: string[]) => {
        let out = "";
        const proc = Bun.spawn([BOX, "--root", root, ...args], {
          terminal: { cols: 100, rows: 30, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", BOX_NETWORK: "none", ...scopeEnv() },
        });
        const waitFor = async (text: string) => {
          for (let i = 0; i < 500 && !out.includes(text); i++) await Bun.sleep(10);
          expect(out).toContain(text);
        };
        return { proc, waitFor, out: () => out, exited: proc.exited.finally(() => proc.terminal?.close()) };
      };
      const first = session(["attach", "sh1"]);
      await Bun.sleep(200);
      first.proc.terminal!.write("stty size; trap 'exit 5' USR1; echo ready-$((2*3))\r");
      await first.waitFor("ready-6");
      expect(first.out()).toContain("30 100");
      first.proc.terminal!.resize(120, 40);
      await Bun.sleep(100);
      // Ctrl-P alone is input (the shell's previous command, run again at the new size); Ctrl-P
      // Ctrl-Q detaches.
      first.proc.terminal!.write("\x10\r");
      await first.waitFor("40 120");
      first.proc.terminal!.write("\x10\x11");
      expect(await first.exited).toBe(0);
      expect(await inspect(root, "sh1", "{{.State.Status}}")).toBe("running");
      const second = session(["start", "-a", "sh1"]); // running already: start -a attaches
      await Bun.sleep(300);
      expect((await box(root, ["kill", "-s", "USR1", "sh1"])).code).toBe(0);
      expect(await second.exited).toBe(5);
      expect((await box(root, ["rm", "-f", "sh1"])).code).toBe(0);
    }), 30_000);
});

describe("info, version, system, groups", () => {
  test("info and version, as text and through --format", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "a", "sleep", "30"]);
      await box(root, ["create", "--name", "b", "alpine", "true"]);
      expect((await box(root, ["info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}} {{.Driver}}"])).stdout).toBe("2 1 1 1 overlay\n");
      const info = await box(root, ["info"]);
      expect(info.stdout).toMatch(/^Client:\n Version: +\S+\n\nServer:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n/);
      expect(info.stdout).toContain(` Docker Root Dir: ${root}\n`);
      const version = JSON.parse((await box(root, ["version", "--format", "{{json .}}"])).stdout);
      const v = String(version.Client.Version);
      expect(version).toMatchObject({ Client: { Os: "linux" }, Server: { Version: v } });
      expect((await box(root, ["version", "-f", "{{.Client.Version}}"])).stdout).toBe(`${v}\n`);
      expect((await box(root, ["rm", "-f", "a", "b"])).code).toBe(0);
    }));

  test("system df, system prune -f, container prune -f", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "up", "sleep", "30"]);
      await box(root, ["run", "--name", "done", "sh", "-c", "head -c 5000 /dev/zero > /blob"]);
      await box(root, ["create", "--name", "made", "alpine", "true"]);
      const df = (await box(root, ["system", "df"])).stdout.split("\n");
      expect(df[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
      expect(df[1]).toMatch(/^Images\s+1\s+1\s+\S+MB\s+0B \(0%\)$/);
      expect(df[2]).toMatch(/^Containers\s+3\s+1\s+5kB\s+5kB \(100%\)$/);
      const json = (await box(root, ["system", "df", "--format", "json"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(json.map((r) => r.Type)).toEqual(["Images", "Containers", "Local Volumes", "Build Cache"]);
      // Without -f the question is asked; anything but y keeps everything.
      const no = await box(root, ["container", "prune"], { stdin: "n\n" });
      expect(no).toMatchObject({ code: 0, stdout: "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] " });
      const ids = (await box(root, ["ps", "-aq", "--no-trunc", "--filter", "status=exited", "--filter", "status=created"])).stdout.trim().split("\n").sort();
      const yes = await box(root, ["container", "prune"], { stdin: "y\n" });
      const m = /^WARNING! This will remove all stopped containers.\nAre you sure you want to continue\? \[y\/N\] Deleted Containers:\n((?:[0-9a-f]{64}\n)+)\nTotal reclaimed space: 5kB\n$/.exec(yes.stdout);
      expect(m?.[1]!.trim().split("\n").sort()).toEqual(ids);
      expect((await box(root, ["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("up\n");
      await box(root, ["stop", "-t", "0", "up"]);
      const sys = await box(root, ["system", "prune", "-f", "-a"]);
      expect(sys.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Images:\nuntagged: alpine:3\.20\.3\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: \S+MB\n$/);
      expect((await box(root, ["ps", "-aq"])).stdout).toBe("");
      expect((await box(root, ["images", "-q"])).stdout).toBe("");
    }), 30_000);

  test("container and image groups run box's commands under docker's names", () =>
    withRoot(async (root) => {
      await box(root, ["container", "run", "-d", "--name", "g", "sleep", "30"]);
      expect((await box(root, ["container", "ls", "--format", "{{.Names}}"])).stdout).toBe("g\n");
      expect((await box(root, ["container", "list", "-q"])).stdout).toMatch(/^[0-9a-f]{12}\n$/);
      expect((await box(root, ["container", "inspect", "-f", "{{.Name}}", "g"])).stdout).toBe("/g\n");
      expect((await box(root, ["container", "exec", "g", "echo", "in"])).stdout).toBe("in\n");
      expect((await box(root, ["image", "ls"])).stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nalpine\s+3\.20\.3\s+/);
      expect((await box(root, ["image", "inspect", "-f", "{{.RepoTags}}", "alpine:3.20.3"])).stdout).toBe("[alpine:3.20.3]\n");
      // inspect --type keeps the two apart: g is no image, alpine:3.20.3 no container.
      expect(await box(root, ["image", "inspect", "g"])).toMatchObject({ code: 1, stderr: "box: no such image: g\n" });
      expect(await box(root, ["container", "inspect", "alpine:3.20.3"])).toMatchObject({ code: 1, stderr: "box: no such container: alpine:3.20.3\n" });
      expect(await box(root, ["container", "frob"])).toMatchObject({ code: 125, stderr: "box: unknown command \"frob\" for \"box container\". See 'box container --help'.\n" });
      expect((await box(root, ["container", "--help"])).stdout).toMatch(/ls\s+List containers/);
      expect((await box(root, ["container", "rm", "-f", "g"])).stdout).toBe("g\n");
    }));
});
