import { fchmodSync, fchownSync, readdirSync, writeSync } from "node:fs";
import { E, FsError } from "./errors";
import { cpath, errno, libc, SYS_openat2 } from "./libc";
import type { Time } from "./stat";

export function openat2(dirfd: number, path: Buffer, flags: number, mode: number, resolve: number, op: string, shown: string): number {
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const fd = libc().syscall(SYS_openat2, dirfd, cpath(path), how, 24);
  if (fd < 0) throw new FsError(op, shown, errno());
  return Number(fd);
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/** /proc/self/fd/N (and a name under it), NUL-terminated: the inode an fd holds, as a path. */
export const procFd = (fd: number, rest?: Buffer): Buffer =>
  rest ? Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), rest, Buffer.from([0])]) : Buffer.from(`/proc/self/fd/${fd}\0`);

/** The names in the directory an fd (O_PATH is enough) refers to, exact bytes. */
export function readNames(fd: number, shown: string): Buffer[] {
  try {
    return readdirSync(`/proc/self/fd/${fd}`, { encoding: "buffer" });
  } catch (err) {
    throw new FsError("list", shown, Math.abs(Number((err as { errno?: number }).errno) || E.EINVAL));
  }
}

/** Writes all of data to fd, continuing after short writes. */
export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw new Error(`a write returned ${n}`);
    off += n;
  }
}

/**
 * Metadata of a file through an fd the caller opened (a file just created by createFile): no path
 * is looked up, so nothing can be redirected.
 */
export const byFd = {
  chown(fd: number, uid: number, gid: number): void {
    fchownSync(fd, uid, gid);
  },
  chmod(fd: number, mode: number): void {
    fchmodSync(fd, mode & 0o7777);
  },
  utimes(fd: number, atime: Time, mtime: Time): void {
    const ts = new BigInt64Array([BigInt(atime.sec), BigInt(atime.nsec), BigInt(mtime.sec), BigInt(mtime.nsec)]);
    if (libc().futimens(fd, ts) !== 0) throw new FsError("set the times of", `fd ${fd}`, errno());
  },
  setxattr(fd: number, name: string, value: Uint8Array): void {
    if (libc().fsetxattr(fd, cpath(name), value.length > 0 ? value : new Uint8Array(1), value.length, 0) !== 0) {
      throw new FsError(`set ${name} on`, `fd ${fd}`, errno());
    }
  },
};
