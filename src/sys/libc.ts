/**
 * The few kernel calls Bun has no API for, through libc (bun:ffi): locks on open files and
 * process file descriptors (pidfd_open, pidfd_send_signal); for the runc CLI, mkfifo and bpf(2).
 * Loaded on first use (about 0.2 ms).
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { BoxError } from "../errors";

const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;

function load() {
  return dlopen("libc.so.6", {
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.i64], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

let lib: ReturnType<typeof load> | undefined;
const libc = () => (lib ??= load());

function errno(): number {
  const p = libc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

/** A failed call: the errno name box reports ("EWOULDBLOCK" is "EAGAIN" on Linux). */
export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} failed (errno ${errno})`);
  }
}

export const ERRNO = { EPERM: 1, ESRCH: 3, EINTR: 4, EBADF: 9, EAGAIN: 11, EACCES: 13, EINVAL: 22, ENOSYS: 38 } as const;

// Open file description locks (fcntl F_OFD_*): held by an open file, not a process, so they pass
// to the helper across exec and fork and end when the last fd of that open file closes, however
// its holder ends. Unlike flock they can be tested without being taken (F_OFD_GETLK).
const SYS_fcntl = 72;
const F_OFD_GETLK = 36, F_OFD_SETLK = 37;
const F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;

/** struct flock for the whole file: l_type, l_whence (shorts), l_start, l_len (off_t), l_pid. */
function flockStruct(type: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeInt16LE(type, 0);
  return b;
}

/** Takes the lock on fd's open file: true when taken, false when another open file holds it. */
export function tryLock(fd: number): boolean {
  const fl = flockStruct(F_WRLCK);
  for (;;) {
    if (Number(libc().syscall(SYS_fcntl, fd, F_OFD_SETLK, ptr(fl), 0)) === 0) return true;
    const e = errno();
    if (e === ERRNO.EAGAIN || e === ERRNO.EACCES) return false;
    if (e !== ERRNO.EINTR) throw new SysError("fcntl(F_OFD_SETLK)", e);
  }
}

/** A shared (read) lock on fd's open file, held until it is closed: a follower of a detached
 * container's log says so to the supervisor (helper/log.c waits with a rotation while held). */
export function readLock(fd: number): boolean {
  const fl = flockStruct(F_RDLCK);
  return Number(libc().syscall(SYS_fcntl, fd, F_OFD_SETLK, ptr(fl), 0)) === 0;
}

/** Whether another open file holds the lock on fd's file (nothing is taken). */
export function isLocked(fd: number): boolean {
  const fl = flockStruct(F_WRLCK);
  if (Number(libc().syscall(SYS_fcntl, fd, F_OFD_GETLK, ptr(fl), 0)) !== 0) throw new SysError("fcntl(F_OFD_GETLK)", errno());
  return fl.readInt16LE(0) !== F_UNLCK;
}

const F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

/** Lets fd survive exec (Bun opens every file close-on-exec): the helper inherits it. */
export function inheritable(fd: number): void {
  const flags = libc().fcntl(fd, F_GETFD, 0);
  if (flags < 0 || libc().fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) throw new SysError("fcntl", errno());
}

/** pidfd_open(pid): a handle that always means this process, even once its pid is reused. */
export function pidfdOpen(pid: number): number | undefined {
  const fd = Number(libc().syscall(SYS_pidfd_open, pid, 0, null, 0));
  if (fd >= 0) return fd;
  const e = errno();
  if (e === ERRNO.ESRCH) return undefined;
  throw new SysError("pidfd_open", e);
}

/** Sends sig through a pidfd; false when the process has ended meanwhile. */
export function pidfdSignal(pidfd: number, sig: number): boolean {
  if (Number(libc().syscall(SYS_pidfd_send_signal, pidfd, sig, null, 0)) === 0) return true;
  const e = errno();
  if (e === ERRNO.ESRCH) return false;
  throw new SysError("pidfd_send_signal", e);
}

const SYS_openat2 = 437;
const O_RDONLY = 0, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;
const RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_IN_ROOT = 0x10;

/**
 * openat2(dirfd, path, O_RDONLY, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS): path is resolved as if
 * dirfd were "/", so no symlink or ".." in it can lead out of that directory. Returns the fd, or a
 * negative errno.
 */
export function openInRoot(dirfd: number, path: string): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(O_RDONLY | O_NOCTTY | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
  const name = Buffer.from(path.replace(/^\/+/, "") + "\0");
  const fd = Number(libc().syscall(SYS_openat2, dirfd, Number(ptr(name)), ptr(how), 24));
  return fd >= 0 ? fd : -errno();
}

// clock_gettime and pipe2 have a library of their own: loaded only when box traces (BOX_TRACE=1,
// --explain), never on a plain run.
function loadClock() {
  return dlopen("libc.so.6", {
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  }).symbols;
}

let clockLib: ReturnType<typeof loadClock> | undefined;
const CLOCK_MONOTONIC = 1;

/** CLOCK_MONOTONIC in microseconds: the clock the helper's step trace counts on. */
export function monotonicMicros(): bigint {
  clockLib ??= loadClock();
  const ts = new BigInt64Array(2);
  if (clockLib.clock_gettime(CLOCK_MONOTONIC, ptr(ts)) !== 0) throw new SysError("clock_gettime", errno());
  return ts[0]! * 1_000_000n + ts[1]! / 1000n;
}


/** A pipe, both ends close-on-exec: [read end, write end]. */
export function pipe(): [number, number] {
  clockLib ??= loadClock();
  const fds = new Int32Array(2);
  if (clockLib.pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new SysError("pipe2", errno());
  return [fds[0]!, fds[1]!];
}

// mkfifo and strerror for the runc CLI (src/oci) alone: a library of their own, loaded on its first use.
function loadOci() {
  return dlopen("libc.so.6", {
    mkfifo: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  }).symbols;
}

let ociLib: ReturnType<typeof loadOci> | undefined;
const strerror = (e: number): string => String((ociLib ??= loadOci()).strerror(e));

/** The FIFO a created container's command waits at (box-runc create). */
export function mkfifo(path: string, mode: number): void {
  if ((ociLib ??= loadOci()).mkfifo(Buffer.from(path + "\0"), mode) === 0) return;
  throw new BoxError(`cannot make the FIFO ${path}: ${strerror(errno())}`, 1);
}

const SYS_bpf = 321;

/** bpf(2), for the device filter of a cgroup v2 container (src/oci/devicefilter.ts). */
export const bpf = {
  /** bpf(cmd, attr): the result (an fd for a load), or a negative errno. */
  call(cmd: number, attr: Buffer): number {
    // (the size goes in syscall's pointer-typed slot: bun:ffi passes a number there as it is)
    const r = Number(libc().syscall(SYS_bpf, cmd, Number(ptr(attr)), attr.length as unknown as null, 0));
    return r >= 0 ? r : -errno();
  },
  address: (b: Buffer): bigint => BigInt(ptr(b)),
  error: strerror,
};
