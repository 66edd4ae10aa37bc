/**
 * The few libc calls src/fs needs and Bun's fs lacks: openat2 (through syscall(2): glibc has no
 * wrapper), and the *at family that works relative to a directory fd. Loaded on first use only:
 * dlopen and Bun's trampolines cost about 1 ms, which `box run` must not pay when it unpacks nothing.
 */
import type * as Ffi from "bun:ffi";

// bun:ffi itself is required on first use, not imported: importing it costs start-up time.
let ffi: typeof Ffi | undefined;
const bunFfi = () => (ffi ??= require("bun:ffi") as typeof Ffi);

function load() {
  const { dlopen, FFIType: T } = bunFfi();
  return dlopen("libc.so.6", {
    // long syscall(long nr, ...): glibc's is plain assembly, so a fixed signature is safe on x86_64.
    syscall: { args: [T.i64, T.i64, T.ptr, T.ptr, T.u64], returns: T.i64_fast },
    mkdirat: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
    mknodat: { args: [T.i32, T.ptr, T.u32, T.u64], returns: T.i32 },
    symlinkat: { args: [T.ptr, T.i32, T.ptr], returns: T.i32 },
    linkat: { args: [T.i32, T.ptr, T.i32, T.ptr, T.i32], returns: T.i32 },
    unlinkat: { args: [T.i32, T.ptr, T.i32], returns: T.i32 },
    renameat2: { args: [T.i32, T.ptr, T.i32, T.ptr, T.u32], returns: T.i32 },
    fchownat: { args: [T.i32, T.ptr, T.u32, T.u32, T.i32], returns: T.i32 },
    fchmodat: { args: [T.i32, T.ptr, T.u32, T.i32], returns: T.i32 },
    utimensat: { args: [T.i32, T.ptr, T.ptr, T.i32], returns: T.i32 },
    statx: { args: [T.i32, T.ptr, T.i32, T.u32, T.ptr], returns: T.i32 },
    readlinkat: { args: [T.i32, T.ptr, T.ptr, T.u64], returns: T.i64_fast },
    setxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.i32], returns: T.i32 },
    lsetxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64, T.i32], returns: T.i32 },
    getxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64], returns: T.i64_fast },
    lgetxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64], returns: T.i64_fast },
    fsetxattr: { args: [T.i32, T.ptr, T.ptr, T.u64, T.i32], returns: T.i32 },
    llistxattr: { args: [T.ptr, T.ptr, T.u64], returns: T.i64_fast },
    futimens: { args: [T.i32, T.ptr], returns: T.i32 },
    close: { args: [T.i32], returns: T.i32 },
    __errno_location: { args: [], returns: T.ptr },
    strerror: { args: [T.i32], returns: T.cstring },
  }).symbols;
}

let lib: ReturnType<typeof load> | undefined;

export function libc(): ReturnType<typeof load> {
  return (lib ??= load());
}

/** errno of the call just made (read before anything else can run a syscall on this thread). */
export function errno(): number {
  const p = libc().__errno_location();
  return p ? bunFfi().read.i32(p, 0) : 0;
}

/** The C library's text for an errno ("No such file or directory"). */
export function strerror(n: number): string {
  return String(libc().strerror(n));
}

export const SYS_openat2 = 437;
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const RENAME_NOREPLACE = 1;

export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
} as const;

export const S = {
  IFMT: 0o170000,
  IFSOCK: 0o140000,
  IFLNK: 0o120000,
  IFREG: 0o100000,
  IFBLK: 0o060000,
  IFDIR: 0o040000,
  IFCHR: 0o020000,
  IFIFO: 0o010000,
} as const;

/** glibc's makedev. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0), mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** A NUL-terminated copy of a path, for the kernel. */
export function cpath(p: string | Uint8Array): Buffer {
  if (typeof p === "string") return Buffer.from(p + "\0");
  const b = Buffer.allocUnsafe(p.length + 1);
  b.set(p, 0);
  b[p.length] = 0;
  return b;
}
