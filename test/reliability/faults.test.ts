/**
 * kill -9 at every step: each command runs under strace, which kills it (SIGKILL) at the Nth call
 * of one system call (mkdir, rename, link, unlink, write, clone...), for N = 1, 2, ... until the
 * command gets through. After every kill the next box commands must find and remove all that is
 * left (ps collects, rm -f removes what is kept), and nothing may remain on the host: no process,
 * (strace runs detached, -D, so a detached container's supervisor need not end for box to return;
 * points after a detached box returned are the supervisor's own, covered by the foreground run.)
 * cgroup, mount, state or scratch file. The iterations are bounded; the suite prints its figures.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { ALPINE_TARBALL, BOX, box, expectNoLeaks, scopeEnv, snapshot, withRoot } from "../e2e/harness";

const SYSCALLS = ["mkdir", "rename", "link", "unlink", "write", "clone3", "clone", "mkdirat", "symlinkat"];
/** At most this many kill points per system call and command. */
const MAX_POINTS = 24;

const figures: Array<{ command: string; syscall: string; points: number; killed: number }> = [];
afterAll(() => {
  const total = figures.reduce((n, f) => n + f.killed, 0);
  console.error(`fault injection: ${total} kills at ${figures.length} system call/command pairs, 0 leaks`);
});

async function underFault(root: string, syscall: string, n: number, args: string[]) {
  // Output goes to files: strace -D outlives box while it follows a detached supervisor, and must
  // not hold box's output pipes open.
  const out = join(root, "..", `${basename(root)}.out`), err = join(root, "..", `${basename(root)}.err`);
  const proc = Bun.spawn(["strace", "-D", "-f", "-qq", "-o", "/dev/null", "-e", `trace=${syscall}`, "-e", `inject=${syscall}:signal=SIGKILL:when=${n}`, BOX, "--root", root, ...args], {
    stdin: "ignore",
    stdout: Bun.file(out),
    stderr: Bun.file(err),
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", BOX_NETWORK: "none", ...scopeEnv() },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const result = { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  rmSync(out, { force: true });
  rmSync(err, { force: true });
  return result;
}

/** What the next commands do after a crash: ps collects, rm -f removes whatever is kept. */
async function recover(root: string): Promise<void> {
  const ps = await box(root, ["ps", "-a", "-q"]);
  expect(ps.code).toBe(0);
  const ids = ps.stdout.split("\n").filter(Boolean);
  // Damaged records are named on stderr ("container ID is damaged: ... box rm -f ID removes it").
  for (const m of ps.stderr.matchAll(/box rm -f ([0-9a-f]{12})/g)) ids.push(m[1]!);
  if (ids.length > 0) {
    const rm = await box(root, ["rm", "-f", ...ids]);
    expect({ rm: rm.code, stderr: rm.stderr }).toEqual({ rm: 0, stderr: "" });
  }
}

async function sweep(command: string, args: string[], prepare?: (root: string) => Promise<void>, syscalls = SYSCALLS): Promise<void> {
  await withRoot(async (root) => {
    const before = snapshot();
    for (const syscall of syscalls) {
      let killed = 0;
      let n = 1;
      for (; n <= MAX_POINTS; n++) {
        await prepare?.(root);
        const r = await underFault(root, syscall, n, args);
        if (r.code !== 137) {
          // Got through: the command's own result, with nothing killed.
          if (r.code !== 0) expect({ syscall, n, code: r.code, stderr: r.stderr }).toMatchObject({ syscall, n, code: 125, stderr: expect.stringMatching(/^box: .+\n$/) });
          await recover(root);
          await expectNoLeaks(root, before);
          break;
        }
        killed++;
        await recover(root);
        try {
          await expectNoLeaks(root, before);
        } catch (err) {
          throw new Error(`after kill -9 at ${syscall} #${n} of box ${args.join(" ")}: ${(err as Error).message}`);
        }
      }
      figures.push({ command, syscall, points: n, killed });
    }
  });
}

describe("kill -9 at every step", () => {
  test("box run (foreground, ephemeral)", () => sweep("run", ["run", "--network", "none", "true"]), 600_000);
  test("box run -d --name", () => sweep("run -d", ["run", "-d", "--network", "none", "--name", "web", "sleep", "30"]), 600_000);
  test("box rm -f of a running container", () =>
    sweep("rm -f", ["rm", "-f", "victim"], async (root) => {
      if (!existsSync(join(root, "names", "victim"))) expect((await box(root, ["run", "-d", "--network", "none", "--name", "victim", "sleep", "30"])).code).toBe(0);
    }), 600_000);
  test("box import", () =>
    sweep("import", ["import", ALPINE_TARBALL, "imported:1"], async (root) => {
      await box(root, ["rmi", "imported:1"]);
    }, ["rename", "link", "unlink", "mkdir"]), 600_000);
});
