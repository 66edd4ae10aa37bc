/**
 * Claims: a file that says who holds something (an address, a host port, a name), so that of two
 * boxes wanting it exactly one gets it, and one whose holder is dead can be taken back.
 *
 * - A claim appears complete or not at all: it is written under a temporary name, then link()ed
 *   into place. link() fails when the name exists, so it is also the exclusive create.
 * - Its content is one line, the holder (printable ASCII). An empty or garbled claim is dead.
 * - Taking back a dead claim and releasing one both happen under a lock on the claims' directory
 *   (a lock the kernel lets go of when its holder dies, so the lock itself never goes stale),
 *   and the claim removed is the very file judged dead (same inode, judged again under the lock):
 *   two boxes taking back one claim at once cannot remove the fresh claim one of them just made.
 *   Creating needs no lock; only removals are serialized.
 */
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { scratchName } from "./atomic";
import { isScratch, listDir } from "./dirs";
import { Lock } from "./lock";

const HOLDER = /^[\x20-\x7e]{1,1024}$/;
const MAX = 1100;

/** A claim as found on disk: its holder, or "damaged"; with the inode that was read. */
interface Found {
  holder: string | "damaged";
  dev: number;
  ino: number;
}

/** Reads a claim through one open file, so the inode and the content belong together. */
function inspect(path: string): Found | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined; // gone
  }
  try {
    const st = fstatSync(fd);
    const buf = Buffer.alloc(MAX);
    let n = 0;
    for (let r; n < MAX && (r = readSync(fd, buf, n, MAX - n, null)) > 0; ) n += r;
    return { holder: parseClaim(buf.subarray(0, n).toString("latin1")) ?? "damaged", dev: st.dev, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** The holder a claim's text names, or undefined when the text is not a claim. */
export function parseClaim(text: string): string | undefined {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  return HOLDER.test(line) && line.trim() !== "" ? line : undefined;
}

/** The holder of the claim at path; "damaged" when it is not a claim; undefined when there is none. */
export function readClaim(path: string): string | "damaged" | undefined {
  return inspect(path)?.holder;
}

/**
 * Runs fn holding the lock of a directory of claims (dir/.lock, an open file description lock:
 * see lock.ts; other boxes wait). The kernel lets go of it when fn returns or when box dies.
 */
export function withDirLock<T>(dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = Lock.takeSync(join(dir, ".lock"), `the claims of ${dir}`);
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** The outcome of a claim: taken, or held by a live holder (named). */
export type ClaimResult = { ok: true } | { ok: false; holder: string };

/**
 * Claims path for holder. A claim that exists and whose holder is alive (per the caller's judge)
 * is left alone and named in the result; a dead or damaged one is taken back, then claimed.
 * locked: the caller already holds the directory's lock (withDirLock), so it is not taken again.
 */
export function claim(path: string, holder: string, alive: (holder: string) => boolean, locked = false): ClaimResult {
  if (parseClaim(holder) !== holder) throw new Error(`not a claim holder: ${JSON.stringify(holder)}`);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = scratchName(path);
  writeFileSync(tmp, holder + "\n", { flag: "wx", mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        linkSync(tmp, path);
        return { ok: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const seen = inspect(path);
      if (!seen) continue; // released meanwhile
      if (seen.holder !== "damaged" && alive(seen.holder)) return { ok: false, holder: seen.holder };
      const takeBack = () => {
        const now = inspect(path);
        // Still the file judged dead, and still dead: nobody can put another there while we hold
        // the lock (link cannot replace a file, and every removal takes this lock).
        if (now && now.dev === seen.dev && now.ino === seen.ino && (now.holder === "damaged" || !alive(now.holder))) unlinkSync(path);
      };
      if (locked) takeBack();
      else withDirLock(dir, takeBack);
    }
    throw new Error(`cannot claim ${path}: it keeps changing`);
  } finally {
    unlinkSync(tmp);
  }
}

/** Gives a claim back, only if it is still held by holder. Returns whether it was. */
export function release(path: string, holder: string, locked = false): boolean {
  const give = () => {
    if (inspect(path)?.holder !== holder) return false;
    unlinkSync(path);
    return true;
  };
  return locked ? give() : withDirLock(dirname(path), give);
}

/**
 * Takes back the claim at path when it is dead or damaged (judged under the lock). Returns
 * whether it was removed.
 */
export function reclaimIfDead(path: string, alive: (holder: string) => boolean, locked = false): boolean {
  const takeBack = () => {
    const now = inspect(path);
    if (!now || (now.holder !== "damaged" && alive(now.holder))) return false;
    unlinkSync(path);
    return true;
  };
  return locked ? takeBack() : withDirLock(dirname(path), takeBack);
}

/** The claims in a directory (scratch files and the lock left out): name and holder. */
export function listClaims(dir: string): Array<{ name: string; holder: string | "damaged" }> {
  return listDir(dir)
    .filter((name) => !isScratch(name))
    .flatMap((name) => {
      const holder = readClaim(join(dir, name));
      return holder === undefined ? [] : [{ name, holder }];
    });
}
