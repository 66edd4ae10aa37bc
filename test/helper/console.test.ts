/**
 * The console (helper/console.c, attach.c): the process that holds the user's terminal is never
 * the supervisor. box run -it starts a supervisor in a session of its own and stays as its
 * console's first client; Ctrl-P Ctrl-Q leaves the container running, its output going to its log;
 * box attach comes back to it; a second client is turned away; a container without a terminal is
 * attached to through frames of stdin, stdout and stderr. Driven through dist/box in real ptys.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { box, helperProcesses, withRoot } from "../e2e/harness";
import { inTerminal } from "../e2e/terminal";

async function status(root: string, name: string): Promise<string> {
  return (await box(root, ["inspect", "-f", "{{.State.Status}}", name])).stdout.trim();
}

describe("the console: box run -it, detach keys, box attach", () => {
  test("the terminal's process is the client, the supervisor has a session of its own", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "--name", "c", "sh"]);
      await s.waitFor("/ # ");
      const procs = helperProcesses(root).map((l) => Number(l.split(":")[0]));
      const sid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[3]);
      const tty = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[4]);
      const client = s.proc.pid;
      expect(procs).toContain(client);
      const supervisor = Number(readFileSync(join(root, "run", `${(await box(root, ["inspect", "-f", "{{.Id}}", "c"])).stdout.trim()}.pid`), "utf8").split(" ")[0]);
      expect(supervisor).not.toBe(client);
      expect(sid(supervisor)).toBe(supervisor); // a session of its own
      expect(tty(supervisor)).toBe(0); // no controlling terminal
      expect(tty(client)).not.toBe(0); // the user's
      s.write("exit 4\r");
      expect(await s.exited).toBe(4);
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));

  test("Ctrl-P Ctrl-Q leaves it running, its output in its log; box attach comes back, with its own window size; the exit status is box's", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "--name", "keep", "sh"]);
      await s.waitFor("/ # ");
      s.write("echo one-$((1+1)); (sleep 0.3; echo bg-$((2+2))) &\r");
      await s.waitFor("one-2");
      s.write("\x10\x11");
      expect(await s.exited).toBe(0);
      expect(await status(root, "keep")).toBe("running");
      // Nobody is attached: what it says goes to its log only.
      await Bun.sleep(600);
      expect(s.output()).not.toContain("bg-4");
      const a = inTerminal(root, ["attach", "keep"], 120, 40);
      await Bun.sleep(200);
      a.write("stty size; echo two-$((1+2))\r");
      await a.waitFor("two-3");
      expect(a.output()).toContain("40 120");
      a.write("exit 3\r");
      expect(await a.exited).toBe(3);
      expect(await status(root, "keep")).toBe("exited");
      const logs = (await box(root, ["logs", "keep"])).stdout;
      expect(logs).toContain("one-2");
      expect(logs).toContain("bg-4");
      expect(logs).toContain("two-3");
      expect((await box(root, ["rm", "keep"])).code).toBe(0);
    }));

  test("--detach-keys; a second client is turned away in one sentence", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-dit", "--name", "d", "sh"])).code).toBe(0);
      const a = inTerminal(root, ["attach", "--detach-keys", "ctrl-a,x", "d"]);
      await Bun.sleep(200);
      a.write("echo first\r");
      await a.waitFor("first");
      const second = await box(root, ["attach", "--no-stdin", "d"]);
      expect(second).toMatchObject({ code: 125, stdout: "", stderr: "box: the container already has a client attached: one at a time\n" });
      a.write("\x10\x11echo still-here\r"); // docker's keys are plain input now
      await a.waitFor("still-here");
      a.write("\x01x");
      expect(await a.exited).toBe(0);
      expect(await status(root, "d")).toBe("running");
      expect((await box(root, ["rm", "-f", "d"])).code).toBe(0);
    }));

  test("without a terminal: stdin, stdout and stderr in frames; the end of stdin closes the command's", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-di", "--name", "cat", "sh", "-c", "cat; echo to-stderr >&2; exit 7"])).code).toBe(0);
      const r = await box(root, ["attach", "cat"], { stdin: "hello\nworld\n" });
      expect(r).toMatchObject({ code: 7, stdout: "hello\nworld\n", stderr: "to-stderr\n" });
      expect((await box(root, ["rm", "cat"])).code).toBe(0);
    }));

  test("box run -it killed with SIGKILL takes its container along, and nothing is left", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "sh"]);
      await s.waitFor("/ # ");
      s.proc.kill("SIGKILL");
      expect(await s.exited).toBe(137);
      for (let i = 0; i < 200 && helperProcesses(root).length > 0; i++) await Bun.sleep(20);
      expect(helperProcesses(root)).toEqual([]);
      expect(existsSync(join(root, "containers")) ? (await box(root, ["ps", "-a", "-q"])).stdout : "").toBe("");
    }));

  test("a foreground run with a restart policy: box ends with the first run's status, the container starts again behind it", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--name", "again", "--restart", "on-failure:2", "sh", "-c", "echo run; exit 2"]);
      expect(r).toMatchObject({ code: 2, stdout: "run\n", stderr: "" });
      for (let i = 0; i < 200 && (await status(root, "again")) !== "exited"; i++) await Bun.sleep(20);
      expect((await box(root, ["inspect", "-f", "{{.RestartCount}} {{.State.ExitCode}}", "again"])).stdout).toBe("2 2\n");
      expect((await box(root, ["logs", "again"])).stdout).toBe("run\nrun\nrun\n");
      expect((await box(root, ["rm", "again"])).code).toBe(0);
    }));

  test("box stop of a container that restarts for ever returns at once, and it stays stopped", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-d", "--name", "loop", "--restart", "always", "true"])).code).toBe(0);
      for (let i = 0; i < 200 && (await box(root, ["inspect", "-f", "{{.RestartCount}}", "loop"])).stdout.trim() < "2"; i++) await Bun.sleep(20);
      const t0 = Date.now();
      expect((await box(root, ["stop", "loop"])).code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2000);
      const count = (await box(root, ["inspect", "-f", "{{.RestartCount}}", "loop"])).stdout;
      await Bun.sleep(800);
      expect(await status(root, "loop")).toBe("exited");
      expect((await box(root, ["inspect", "-f", "{{.RestartCount}}", "loop"])).stdout).toBe(count);
      expect((await box(root, ["rm", "loop"])).code).toBe(0);
    }));
});
