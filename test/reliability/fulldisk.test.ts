/**
 * Full disks: box's store (or its /run part) on a small tmpfs that fills up. Every command that
 * cannot write says so in one sentence naming the path, exits 125, leaves nothing half-written,
 * and works again once there is room.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE_TARBALL, BOX, box, run, withRoot } from "../e2e/harness";

const SBIN = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

async function mountTmpfs(dir: string, size: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  expect((await run(["mount", "-t", "tmpfs", "-o", `size=${size},mode=700`, "tmpfs", dir], { env: SBIN })).code).toBe(0);
}

async function umount(dir: string): Promise<void> {
  await run(["umount", "-l", dir], { env: SBIN });
}

/** Fills a filesystem to the last byte with one file; returns a function that frees it. */
function fill(dir: string): () => void {
  const path = join(dir, "filler");
  const chunk = Buffer.alloc(64 * 1024);
  const fd = require("node:fs").openSync(path, "w");
  try {
    for (;;) require("node:fs").writeSync(fd, chunk);
  } catch {
    /* ENOSPC: full */
  }
  try {
    for (;;) require("node:fs").writeSync(fd, chunk.subarray(0, 512));
  } catch {
    /* full to the last block */
  }
  require("node:fs").closeSync(fd);
  return () => require("node:fs").rmSync(path, { force: true });
}

describe("full disks", () => {
  test("a store too small for the image: one sentence, 125, no half image, no scratch", () =>
    withRoot(async (root) => {
      await mountTmpfs(root, "1m");
      try {
        const r = await box(root, ["run", "true"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(/^box: .*(no space left on device|ENOSPC|disk)/i);
        expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
        // The store's own directories may be there, empty: no layer, blob, image or scratch file.
        const files = (dir: string): string[] =>
          !existsSync(dir) ? [] : readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".lock") ? [] : [join(dir, e.name)]));
        for (const sub of ["images", "tmp", "containers"]) expect({ [sub]: files(join(root, sub)) }).toEqual({ [sub]: [] });
        const imp = await box(root, ["import", ALPINE_TARBALL, "big:1"]);
        expect(imp.code).toBe(125);
        expect(imp.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      } finally {
        await umount(root);
      }
    }));

  test("a full store: run fails naming what it could not write; ps and rm still work; room again, run works", () =>
    withRoot(async (root) => {
      await mountTmpfs(root, "24m");
      try {
        expect((await box(root, ["run", "--name", "kept", "true"])).code).toBe(0); // the image is in
        const free = fill(root);
        const r = await box(root, ["run", "--name", "nope", "true"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(/^box: cannot write .*: .*(space|ENOSPC)/i);
        expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
        const ps = await box(root, ["ps", "-a", "--format", "json"]);
        expect(ps.code).toBe(0);
        expect(ps.stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { Names: string }).Names)).toEqual(["kept"]);
        expect(existsSync(join(root, "names", "nope"))).toBe(false);
        free();
        expect((await box(root, ["run", "--name", "nope", "echo", "ok"])).stdout).toBe("ok\n");
        expect((await box(root, ["rm", "kept", "nope"])).code).toBe(0);
      } finally {
        await umount(root);
      }
    }));

  test("a full /run: a detached run fails cleanly (the supervisor cannot record its pid), nothing is signalled by mistake", () =>
    withRoot(async (root) => {
      await mountTmpfs(join(root, "run"), "64k");
      try {
        const free = fill(join(root, "run"));
        const r = await box(root, ["run", "-d", "--name", "d", "sleep", "30"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(/^box: .*run.*(space|ENOSPC)/i);
        // Whatever was left, stop and rm -f signal nothing outside it (a shell of its own watches).
        const after = await run(["setsid", "sh", "-c", `${BOX} --root ${root} stop d; ${BOX} --root ${root} rm -f d; echo survived`]);
        expect(after.stdout.trim().split("\n").at(-1)).toBe("survived");
        free();
        expect((await box(root, ["ps", "-a", "-q"])).stdout).toBe("");
      } finally {
        await umount(join(root, "run"));
      }
    }));
});
