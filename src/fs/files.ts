/** The longer of Dir's operations, on its resolution (see dir.ts). */
import { closeSync, fsyncSync } from "node:fs";
import { E, FsError } from "./errors";
import { AT_FDCWD, cpath, errno, libc, O } from "./libc";
import type { At } from "./meta";
import { bytes, show, type PathArg } from "./path";
import { fstatFd, type Stat } from "./stat";
import { closeFd, openat2, procFd, writeAll } from "./sys";

/** What a Dir offers these functions. */
export interface Rel extends At {
  readonly resolve: "beneath" | "in-root";
  readonly resolveFlags: number;
  openRel(rel: Buffer, flags: number, mode: number, op: string): number;
  createFile(rel: PathArg, mode?: number): number;
  rename(oldRel: PathArg, newRel: PathArg): void;
  tryLstat(rel: PathArg): Stat | undefined;
  unlink(rel: PathArg): void;
}

export function mkdirs(d: Rel, rel: PathArg, mode: number): void {
  d.live();
  const parts = bytes(rel).toString("latin1").split("/").filter((p) => p !== "" && p !== ".");
  let fd = d.fd;
  let done = "";
  try {
    for (const part of parts) {
      done = done ? `${done}/${part}` : part;
      const shown = show(Buffer.from(done, "latin1"));
      if (part === "..") throw new FsError("create the directory", shown, E.EINVAL, "'..' is not allowed here");
      const name = Buffer.from(part, "latin1");
      if (libc().mkdirat(fd, cpath(name), mode) !== 0 && errno() !== E.EEXIST) throw new FsError("create the directory", shown, errno());
      const next = openat2(fd, name, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, d.resolveFlags, "create the directory", shown);
      if (fd !== d.fd) closeFd(fd);
      fd = next;
    }
  } finally {
    if (fd !== d.fd) closeFd(fd);
  }
}

export function openFile(d: Rel, rel: PathArg): number {
  const b = bytes(rel);
  const pathFd = d.openRel(b, O.PATH | (d.resolve === "in-root" ? 0 : O.NOFOLLOW), 0, "open the file");
  try {
    const st = fstatFd(pathFd, "open the file", show(b));
    if (st.type === "symlink") throw new FsError("open the file", show(b), E.ELOOP);
    if (st.type !== "file") throw new FsError("open the file", show(b), E.EINVAL, `it is a ${st.type === "dir" ? "directory" : st.type}, not a regular file`);
    // Reopen the very inode the O_PATH fd holds, for reading.
    return openat2(AT_FDCWD, procFd(pathFd).subarray(0, -1), O.RDONLY | O.CLOEXEC | O.NOCTTY, 0, 0, "open the file", show(b));
  } finally {
    closeFd(pathFd);
  }
}

export function writeFileAtomic(d: Rel, rel: PathArg, data: string | Uint8Array, mode: number, durable: boolean): void {
  const b = bytes(rel);
  const tmp = Buffer.concat([b, Buffer.from(`.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`)]);
  const fd = d.createFile(tmp, mode);
  let open = true;
  try {
    writeAll(fd, typeof data === "string" ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    open = false;
    d.rename(tmp, b);
  } catch (err) {
    if (open) closeSync(fd);
    if (d.tryLstat(tmp)) d.unlink(tmp);
    throw err;
  }
}

export function readlink(d: Rel, rel: PathArg): Buffer {
  return d.inParent("read the symbolic link", rel, (pfd, name, path) => {
    const buf = Buffer.allocUnsafe(4097);
    const n = Number(libc().readlinkat(pfd, name, buf, 4097));
    if (n < 0) throw new FsError("read the symbolic link", path, errno());
    if (n > 4096) throw new FsError("read the symbolic link", path, E.EINVAL, "its target is longer than 4096 bytes");
    return Buffer.from(buf.subarray(0, n));
  });
}
