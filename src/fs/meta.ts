/**
 * Metadata of an entry of a Dir, never through a link: owner, mode, times, extended attributes.
 * Each works on the entry's parent fd and its last name (or on an O_PATH fd of the entry itself),
 * as Dir resolved them.
 */
import { closeSync, readSync } from "node:fs";
import { E, FsError } from "./errors";
import { AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, cpath, errno, libc } from "./libc";
import { bytes, isSelf, show, type PathArg } from "./path";
import { fstatFd, type Time } from "./stat";
import { closeFd, procFd } from "./sys";

/** What a Dir offers these functions: its fd, and its way to a parent or an entry. */
export interface At {
  readonly fd: number;
  live(): void;
  inParent<T>(op: string, rel: PathArg, fn: (pfd: number, cname: Buffer, path: string) => T): T;
  openPath(op: string, rel: PathArg): number;
}

export function chown(d: At, rel: PathArg, uid: number, gid: number): void {
  const b = bytes(rel);
  if (isSelf(b)) {
    d.live();
    if (libc().fchownat(d.fd, Buffer.from("\0"), uid, gid, AT_EMPTY_PATH) !== 0) throw new FsError("change the owner of", show(b), errno());
    return;
  }
  d.inParent("change the owner of", b, (pfd, name, path) => {
    if (libc().fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) !== 0) throw new FsError("change the owner of", path, errno());
  });
}

export function chmod(d: At, rel: PathArg, mode: number): void {
  const fd = d.openPath("change the mode of", rel);
  try {
    const st = fstatFd(fd, "change the mode of", show(rel));
    if (st.type === "symlink") throw new FsError("change the mode of", show(rel), E.ELOOP, "it is a symbolic link");
    // The O_PATH fd pins the inode; its /proc link reaches exactly that inode.
    if (libc().fchmodat(AT_FDCWD, procFd(fd), mode & 0o7777, 0) !== 0) throw new FsError("change the mode of", show(rel), errno());
  } finally {
    closeFd(fd);
  }
}

export function utimes(d: At, rel: PathArg, atime: Time, mtime: Time): void {
  const ts = new BigInt64Array([BigInt(atime.sec), BigInt(atime.nsec), BigInt(mtime.sec), BigInt(mtime.nsec)]);
  const b = bytes(rel);
  if (isSelf(b)) {
    d.live();
    if (libc().utimensat(AT_FDCWD, procFd(d.fd), ts, 0) !== 0) throw new FsError("set the times of", show(b), errno());
    return;
  }
  d.inParent("set the times of", b, (pfd, name, path) => {
    if (libc().utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) !== 0) throw new FsError("set the times of", path, errno());
  });
}

export function setxattr(d: At, rel: PathArg, name: string, value: Uint8Array): void {
  const b = bytes(rel);
  const key = cpath(name);
  const val = value.length > 0 ? value : new Uint8Array(1);
  if (isSelf(b)) {
    d.live();
    if (libc().setxattr(procFd(d.fd), key, val, value.length, 0) !== 0) throw new FsError(`set ${name} on`, show(b), errno());
    return;
  }
  d.inParent(`set ${name} on`, b, (pfd, cname, path) => {
    if (libc().lsetxattr(procFd(pfd, cname.subarray(0, -1)), key, val, value.length, 0) !== 0) throw new FsError(`set ${name} on`, path, errno());
  });
}

export function getxattr(d: At, rel: PathArg, name: string): Buffer | undefined {
  const b = bytes(rel);
  const key = cpath(name);
  const buf = Buffer.allocUnsafe(65536);
  const get = (n: number, path: string) => {
    if (n >= 0) return Buffer.from(buf.subarray(0, n));
    const e = errno();
    if (e === E.ENODATA) return undefined;
    throw new FsError(`read ${name} of`, path, e);
  };
  if (isSelf(b)) {
    d.live();
    return get(Number(libc().getxattr(procFd(d.fd), key, buf, buf.length)), show(b));
  }
  return d.inParent(`read ${name} of`, b, (pfd, cname, path) => get(Number(libc().lgetxattr(procFd(pfd, cname.subarray(0, -1)), key, buf, buf.length)), path));
}

/** The names of rel's extended attributes (a symbolic link's own, never its target's). */
export function listxattr(d: At, rel: PathArg): string[] {
  const buf = Buffer.allocUnsafe(65536);
  const names = (n: number, path: string) => {
    if (n < 0) {
      const e = errno();
      if (e === E.ENOTSUP) return [];
      throw new FsError("list the extended attributes of", path, e);
    }
    return buf.subarray(0, n).toString("latin1").split("\0").filter(Boolean);
  };
  const b = bytes(rel);
  if (isSelf(b)) {
    d.live();
    return names(Number(libc().llistxattr(procFd(d.fd), buf, buf.length)), show(b));
  }
  return d.inParent("list the extended attributes of", b, (pfd, cname, path) => names(Number(libc().llistxattr(procFd(pfd, cname.subarray(0, -1)), buf, buf.length)), path));
}

/** Every extended attribute of rel itself, names and values. */
export function xattrs(d: At, rel: PathArg): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const name of listxattr(d, rel)) {
    const value = getxattr(d, rel, name);
    if (value !== undefined) out.push([name, value]);
  }
  return out;
}

/** Reads a whole open file, refused (EFBIG) past cap bytes; closes fd. */
export function readAllFd(fd: number, cap: number, shown: string): Buffer {
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(cap + 1 - total, 1), 1 << 16));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > cap) throw new FsError("read", shown, E.EFBIG, `it is larger than ${cap} bytes`);
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}
