/**
 * A destination directory and, beside it, a canary: a file and a directory outside the destination
 * with known content, owner, mode and times. The Dir and unpacker tests attack the destination
 * and then check the canary is exactly as made.
 */
import { expect } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

/** top (remove it after the test), dest, and the canary outside. */
export function makeCanary(prefix: string): { top: string; dest: string; outside: string } {
  const top = mkdtempSync(join(tmpdir(), prefix));
  const dest = join(top, "dest");
  const outside = join(top, "outside");
  mkdirSync(dest);
  mkdirSync(join(outside, "sub"), { recursive: true });
  writeFileSync(join(outside, "target"), "host file");
  chmodSync(join(outside, "target"), 0o640);
  chmodSync(join(outside, "sub"), 0o750);
  utimesSync(join(outside, "target"), 1_000_000, 1_000_000);
  utimesSync(join(outside, "sub"), 1_000_000, 1_000_000);
  utimesSync(outside, 1_000_000, 1_000_000);
  return { top, dest, outside };
}

/** The canary is exactly as made: nothing written, chowned, chmodded, touched or added. */
export function expectCanary(outside: string): void {
  const t = statSync(join(outside, "target"));
  const s = statSync(join(outside, "sub"));
  const o = statSync(outside);
  expect({ content: readFileSync(join(outside, "target"), "utf8"), mode: t.mode & 0o7777, uid: t.uid, gid: t.gid, mtime: t.mtimeMs, nlink: t.nlink })
    .toEqual({ content: "host file", mode: 0o640, uid, gid, mtime: 1_000_000_000, nlink: 1 });
  expect({ mode: s.mode & 0o7777, uid: s.uid, mtime: s.mtimeMs, entries: readdirSync(join(outside, "sub")) })
    .toEqual({ mode: 0o750, uid, mtime: 1_000_000_000, entries: [] });
  expect({ outside: readdirSync(outside).sort(), mtime: o.mtimeMs, mode: o.mode & 0o7777 }).toEqual({ outside: ["sub", "target"], mtime: 1_000_000_000, mode: o.mode & 0o7777 });
}
