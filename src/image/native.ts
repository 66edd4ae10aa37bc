import { dlopen, FFIType, read } from "bun:ffi";

/** The few file operations Node's fs lacks, from libc: device nodes and extended attributes. */
let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen("libc.so.6", {
    mknod: { args: [FFIType.cstring, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
    lsetxattr: { args: [FFIType.cstring, FFIType.cstring, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  }).symbols;
}

function libc() {
  return (lib ??= load());
}

function check(ret: number, what: string): void {
  if (ret === 0) return;
  const c = libc();
  const p = c.__errno_location();
  const errno = p ? read.i32(p, 0) : 0;
  throw Object.assign(new Error(`${what}: ${String(c.strerror(errno))}`), { errno });
}

const cstr = (s: string) => Buffer.from(s + "\0");

/** glibc's makedev. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  check(libc().mknod(cstr(path), mode, makedev(major, minor)), `cannot create the device ${path}`);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const buf = Buffer.from(value);
  check(libc().lsetxattr(cstr(path), cstr(name), buf.length ? buf : Buffer.alloc(1), BigInt(buf.length), 0), `cannot set ${name} on ${path}`);
}
