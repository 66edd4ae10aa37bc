// -t: a pseudo-terminal of the container's own devpts, driven here through a real pty.
import { describe, expect, test } from "bun:test";
import { withRoot } from "./harness";
import { inTerminal } from "./terminal";

describe("box run -t", () => {
  test("-it gives an interactive shell on a pty of the container's own devpts", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "sh"]);
      await s.waitFor("/ # ");
      s.write("tty; echo TERM=$TERM; for f in 0 1 2; do readlink /proc/self/fd/$f; done\r");
      await s.waitFor("TERM=xterm\r\n/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\n");
      s.write("exit 3\r");
      expect(await s.exited).toBe(3);
      expect(s.output()).toContain("/dev/pts/0\r\n");
      // fd 0, 1, 2 of the shell's children are all the container's pts/0 (the first of a fresh devpts).
    }));

  test("the host's terminal never enters the container", () =>
    withRoot(async (root) => {
      // SYS_PTRACE, to be allowed to look at PID 1's fds.
      const s = inTerminal(root, ["run", "--cap-add", "SYS_PTRACE", "sh", "-c", "for f in 0 1 2; do readlink /proc/self/fd/$f; done; readlink /proc/1/fd/0"]);
      expect(await s.exited).toBe(0);
      // Without -t, a terminal on box's side is relayed through pipes; stdin is /dev/null without -i.
      const lines = s.output().trim().split(/\r?\n/);
      expect(lines[0]).toBe("/dev/null");
      expect(lines[1]).toMatch(/^pipe:\[\d+\]$/);
      expect(lines[2]).toMatch(/^pipe:\[\d+\]$/);
      expect(lines[3]).toBe("/dev/null");
    }));

  test("the window size follows the host's terminal, also when it changes", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "sh"], 101, 33);
      await s.waitFor("/ # ");
      s.write("stty size\r");
      await s.waitFor("33 101");
      s.resize(120, 40);
      await Bun.sleep(100);
      s.write("stty size\r");
      await s.waitFor("40 120");
      s.write("exit\r");
      expect(await s.exited).toBe(0);
    }));

  test("Ctrl-C interrupts the foreground command, not the shell; job control works", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "sh"]);
      await s.waitFor("/ # ");
      // The foreground job says when it runs, so Ctrl-C cannot arrive before it does.
      s.write("sh -c 'echo sleeping; exec sleep 30'\r");
      await s.waitFor("sleeping\r\n");
      s.write("\x03");
      s.write("echo after-ctrl-c $?\r");
      await s.waitFor("after-ctrl-c 130");
      s.write("sleep 30 &\r");
      s.write("jobs; echo jobs-done\r");
      await s.waitFor("jobs-done");
      expect(s.output()).toMatch(/\[1\]\+?\s+Running\s+sleep 30/);
      s.write("exit 0\r");
      expect(await s.exited).toBe(0);
    }));

  test("-t with a command: its exit status comes back; Ctrl-C ends it with 130", () =>
    withRoot(async (root) => {
      const s = inTerminal(root, ["run", "-it", "sh", "-c", "echo ready; exec sleep 30"]);
      await s.waitFor("ready");
      s.write("\x03");
      expect(await s.exited).toBe(130);
    }));
});
