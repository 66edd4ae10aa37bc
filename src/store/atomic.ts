import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { BoxError, describeSystemError } from "../errors";
import { randomHex } from "./ids";

/** A scratch name next to path, carrying the writer's pid: "<path>.tmp-<pid>-<random>". A
 * collector removes those whose writer is gone (src/container/collect.ts). */
export function scratchName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomHex(6)}`;
}

/** The pid of the box process that made a scratch file, or undefined for other names. */
export function scratchOwner(name: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Writes all of data to fd: a short write is followed up, and a write that makes no progress fails. */
export function writeAll(fd: number, data: Uint8Array, path: string): void {
  let done = 0;
  while (done < data.length) {
    const n = writeSync(fd, data, done, data.length - done);
    if (n <= 0) throw new BoxError(`cannot write ${path}: the disk accepted no more bytes`);
    done += n;
  }
}

/**
 * Writes a file so that readers see either the old content or the new one, never a part. With
 * durable (the default) the data is fsync'd before the rename, so it also survives a power cut;
 * live state under /run, which a reboot clears anyway, does without. Every byte is checked: a file
 * that could not be written whole (a full disk) is removed, never renamed into place, and the
 * failure names the path.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, durable = true): void {
  const tmp = scratchName(path);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", mode);
    writeAll(fd, bytes, path);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot write ${path}: ${describeSystemError(err, false)}`);
  }
}
