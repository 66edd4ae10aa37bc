/**
 * Writes of the image store's small files (records, names, layer records, credentials): every
 * byte written (short writes continued), fsync'd, and (atomic) renamed over the old file, so a
 * reader sees the old content or the new, never a part. Scratch files are "NAME.tmp-XXXX",
 * which no listing takes for an entry and collectGarbage removes once old.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { writeAll } from "../../fs/dir";

export function writeFileWhole(path: string, data: string | Uint8Array, mode = 0o644, flag = "wx"): void {
  const fd = openSync(path, flag, mode);
  try {
    writeAll(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${path}.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`;
  try {
    writeFileWhole(tmp, data, mode);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
