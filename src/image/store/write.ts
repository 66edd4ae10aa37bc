/**
 * Writes of the image store's small files (records, names, layer records, credentials): every
 * byte written (short writes continued), fsync'd, a failure a sentence naming the file; atomic
 * ones through "NAME.tmp-XXXX" renamed over NAME, so a reader sees the old content or the new. No
 * listing takes such scratch for an entry, and collectGarbage removes it once old. (The same as
 * src/store/atomic.ts, without node:crypto, which costs Bun about 7 ms to load.)
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { BoxError, describeSystemError } from "../../errors";
import { writeAll } from "../../fs/dir";

/** A new file (never an existing one), written whole and fsync'd. */
export function writeFileWhole(path: string, data: string | Uint8Array, mode = 0o644): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, "wx", mode);
    writeAll(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot write ${path}: ${describeSystemError(err, false)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${path}.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`;
  try {
    writeFileWhole(tmp, data, mode);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot write ${path}: ${describeSystemError(err, false)}`);
  }
}
