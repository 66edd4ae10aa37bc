/**
 * The files the helper writes when the disk is full: the pidfile (a start that cannot record itself
 * fails, with one sentence, and leaves nothing), and the exit file (reported; the status stays the
 * command's own). Each test puts a small tmpfs where the file goes and fills it.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { box, run, withRoot } from "../e2e/harness";

/** Fills the filesystem at dir to the last byte. */
function fill(dir: string): void {
  const fd = openSync(join(dir, "filler"), "w");
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
    for (let small = Buffer.alloc(512); ; ) {
      try {
        writeSync(fd, small);
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function mountTmpfs(dir: string, size: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = await run(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (r.code !== 0) throw new Error(r.stderr);
}

describe("helper: state files on a full disk", () => {
  test("a pidfile that cannot be written: the start fails with 125 and one sentence naming it, nothing is left", () =>
    withRoot(async (root) => {
      const runDir = join(root, "run");
      await mountTmpfs(runDir, "64k");
      try {
        fill(runDir);
        const r = await box(root, ["run", "echo", "never"]);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(new RegExp(`^box: cannot write the pidfile ${runDir}/[0-9a-f]{64}\\.pid: No space left on device\\n$`));
        expect(r.code).toBe(125);
        expect(readdirSync(runDir)).toEqual(["filler"]);
        // The same for a detached run: the caller says so and returns 125; the container, kept as
        // every detached one is, has ended with 125, as a failed start does (docker's "Exited").
        const d = await box(root, ["run", "-d", "--name", "d", "sleep", "60"]);
        expect(d.code).toBe(125);
        expect(d.stderr).toMatch(/^box: cannot write the pidfile .*: No space left on device\n$/);
        expect(JSON.parse((await box(root, ["inspect", "d"])).stdout)[0].State).toMatchObject({ Status: "exited", ExitCode: 125 });
        expect(readdirSync(runDir)).toEqual(["filler"]);
        expect((await box(root, ["rm", "d"])).code).toBe(0);
      } finally {
        await run(["umount", runDir]);
      }
    }));

  test("an exit file that cannot be written is reported; box still ends with the command's status", () =>
    withRoot(async (root) => {
      // The whole store on a small tmpfs: the image, then the container, which fills the rest.
      await mountTmpfs(root, "48m");
      try {
        const r = await box(root, ["run", "--name", "filler", "sh", "-c", "dd if=/dev/zero of=/big bs=1M 2>/dev/null; exit 3"]);
        expect(r.code).toBe(3);
        const id = (await box(root, ["ps", "-a", "-q", "--no-trunc"])).stdout.trim() || readdirSync(join(root, "containers"))[0];
        expect(r.stderr).toBe(`box: cannot write the exit file ${join(root, "containers", id!, "exit")}: No space left on device\n`);
        expect(readdirSync(join(root, "containers", id!))).not.toContain("exit");
        expect(readdirSync(join(root, "containers", id!)).filter((f) => f.includes("tmp"))).toEqual([]);
        expect((await box(root, ["rm", "filler"])).code).toBe(0);
      } finally {
        await run(["umount", root]);
      }
    }), 60_000);
});
