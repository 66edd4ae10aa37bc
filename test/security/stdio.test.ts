/**
 * The escape suite for box's own stdio: a host file or terminal that box's stdin, stdout or stderr
 * points at must not become the container's. Only pipes and sockets are handed over as they are;
 * anything else is relayed, so reopening /proc/self/fd/N inside gives the container a pipe, and
 * terminal ioctls find no terminal.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, removeRoot, run, scopeEnv, tempDir, withRoot } from "../e2e/harness";
import { probe, rootfsWithProbe } from "./probe";

let rootfs: string;
const work = tempDir("box-stdio-");
beforeAll(async () => {
  await probe();
  rootfs = await rootfsWithProbe();
}, 180_000);
afterAll(() => {
  removeRoot(rootfs);
  removeRoot(work);
});

describe("escape suite: host files behind box's stdio", () => {
  for (const fd of [1, 2]) {
    test(`fd ${fd} appending to a host file: the container can neither read what it held nor rewrite it; output still arrives appended`, () =>
      withRoot(async (root) => {
        const file = join(work, `out-${fd}`);
        writeFileSync(file, "SECRET-before\n");
        // The shell appends box's fd to the file, as `>>` does; the probe reopens it inside.
        const r = await run(["sh", "-c", `exec ${BOX} --root ${root} run --rootfs ${rootfs} sh -c '/probe reopen ${fd}; echo appended >&${fd}' ${fd}>> ${file}`]);
        expect(r.code).toBe(0);
        // Inside, the fd was a pipe: nothing to read, no offset to write at, nothing to truncate.
        const report = fd === 1 ? r.stderr : r.stdout;
        expect(report).not.toContain("SECRET");
        expect(report).toMatch(/^read -1 \npwrite errno \d+\nftruncate errno\n$/);
        expect(readFileSync(file, "utf8")).toBe("SECRET-before\nappended\n");
      }));
  }

  test("stdin from a host file (-i): read as input, never written", () =>
    withRoot(async (root) => {
      const file = join(work, "in");
      writeFileSync(file, "input-line\n");
      const r = await run(["sh", "-c", `exec ${BOX} --root ${root} run -i --rootfs ${rootfs} sh -c '/probe reopen 0; cat' < ${file}`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/pwrite errno \d+\nftruncate errno\n$/);
      expect(readFileSync(file, "utf8")).toBe("input-line\n");
      // What the probe's read did not take, cat still gets; either way, all of it arrives once.
      expect(r.stderr.match(/^read (-?\d+) /)![1] === "-1" ? r.stdout : "input-line\n").toBe("input-line\n");
    }));

  test("/dev/null stays /dev/null, a pipe stays the pipe: nothing is relayed that need not be", () =>
    withRoot(async (root) => {
      const r = await run(["sh", "-c", `${BOX} --root ${root} run -i --rootfs ${rootfs} sh -c 'for f in 0 1 2; do readlink /proc/self/fd/$f; done' 2>/dev/null < /dev/null | cat`]);
      const [stdin, stdout, stderr] = r.stdout.trim().split("\n");
      expect(stdin).toBe("/dev/null");
      expect(stdout).toMatch(/^pipe:\[\d+\]$/);
      expect(stderr).toBe("/dev/null");
      // The pipe is box's own stdout, not one of its relays: the same inode as the host sees.
      const host = await run(["sh", "-c", `${BOX} --root ${root} run --rootfs ${rootfs} readlink /proc/self/fd/1 | { cat; readlink /proc/self/fd/0; }`]);
      const [inside, outside] = host.stdout.trim().split("\n");
      expect(inside).toBe(outside);
    }));
});

/** box on a real terminal (a pty made by Bun), as a person runs it. */
async function onTerminal(root: string, args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const proc = Bun.spawn([BOX, "--root", root, ...args], {
    terminal: { cols: 80, rows: 24, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", BOX_NETWORK: "none", ...scopeEnv() },
  });
  const code = await proc.exited;
  await Bun.sleep(50);
  proc.terminal?.close();
  return { code, out };
}

describe("escape suite: the host's terminal", () => {
  test("TIOCSTI and TIOCLINUX find no terminal on fds 0, 1, 2 (with and without -i): nothing reaches the host's input", () =>
    withRoot(async (root) => {
      const script = "for f in 0 1 2; do /probe tiocsti $f; /probe tioclinux $f; done; true";
      for (const opts of [[], ["-i"]]) {
        const r = await onTerminal(root, ["run", ...opts, "--rootfs", rootfs, "sh", "-c", script]);
        expect({ opts, code: r.code }).toEqual({ opts, code: 0 });
        // ENOTTY six times; an injected X would have been echoed by the host's terminal.
        expect({ opts, out: r.out }).toEqual({ opts, out: "errno 25\r\n".repeat(6) });
      }
    }));

  test("with -t, TIOCSTI reaches only the container's own pty", () =>
    withRoot(async (root) => {
      const r = await onTerminal(root, ["run", "-t", "--rootfs", rootfs, "sh", "-c", "/probe tiocsti 0; readlink /proc/self/fd/0"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain("ok 0");
      expect(r.out).toContain("/dev/pts/0");
    }));
});
