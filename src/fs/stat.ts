import { FsError } from "./errors";
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, errno, libc, S } from "./libc";

export type FileType = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";

export interface Time {
  sec: number;
  nsec: number;
}

export interface Stat {
  type: FileType;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: bigint;
  /** The device the file is on, as major:minor. */
  dev: string;
  /** The device a char/block node stands for. */
  rdevMajor: number;
  rdevMinor: number;
  atime: Time;
  mtime: Time;
  /** The mount it is on (0n on kernels before 5.8). */
  mntId: bigint;
}

export function typeOf(mode: number): FileType {
  switch (mode & S.IFMT) {
    case S.IFREG: return "file";
    case S.IFDIR: return "dir";
    case S.IFLNK: return "symlink";
    case S.IFCHR: return "char";
    case S.IFBLK: return "block";
    case S.IFIFO: return "fifo";
    default: return "socket";
  }
}

export const TYPE_BITS: Record<"char" | "block" | "fifo", number> = { char: S.IFCHR, block: S.IFBLK, fifo: S.IFIFO };

const STATX_BASIC_STATS = 0x7ff, STATX_MNT_ID = 0x1000;

/** struct statx, as the kernel lays it out. */
function decodeStatx(view: DataView): Stat {
  const ts = (off: number): Time => ({ sec: Number(view.getBigInt64(off, true)), nsec: view.getUint32(off + 8, true) });
  const mode = view.getUint16(28, true);
  const mask = view.getUint32(0, true);
  return {
    type: typeOf(mode),
    mode: mode & 0o7777,
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    size: Number(view.getBigUint64(40, true)),
    nlink: view.getUint32(16, true),
    ino: view.getBigUint64(32, true),
    atime: ts(64),
    mtime: ts(112),
    rdevMajor: view.getUint32(128, true),
    rdevMinor: view.getUint32(132, true),
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
    mntId: mask & STATX_MNT_ID ? view.getBigUint64(144, true) : 0n,
  };
}

export function statxAt(dirfd: number, cname: Buffer, flags: number, op: string, shown: string): Stat {
  const buf = Buffer.alloc(256);
  if (libc().statx(dirfd, cname, flags, STATX_BASIC_STATS | STATX_MNT_ID, buf) !== 0) throw new FsError(op, shown, errno());
  return decodeStatx(new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
}

export function fstatFd(fd: number, op: string, shown: string): Stat {
  return statxAt(fd, Buffer.from("\0"), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, op, shown);
}
