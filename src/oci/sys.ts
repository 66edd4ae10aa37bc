/** libc calls the runc CLI needs beyond src/sys/libc.ts: mkfifo for create's hold FIFO, and bpf(2)
 * for the device filter of cgroup v2 (devicefilter.ts). */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { BoxError } from "../errors";

const SYS_bpf = 321;

function load() {
  return dlopen("libc.so.6", {
    mkfifo: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.i64], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  }).symbols;
}

let lib: ReturnType<typeof load> | undefined;
const libc = () => (lib ??= load());

function errno(): number {
  const p = libc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

export function mkfifo(path: string, mode: number): void {
  if (libc().mkfifo(Buffer.from(path + "\0"), mode) === 0) return;
  throw new BoxError(`cannot make the FIFO ${path}: ${String(libc().strerror(errno()))}`, 1);
}

export const bpf = {
  /** bpf(cmd, attr): the result (an fd for a load), or a negative errno. */
  call(cmd: number, attr: Buffer): number {
    const r = Number(libc().syscall(SYS_bpf, cmd, ptr(attr), attr.length));
    return r >= 0 ? r : -errno();
  },
  address: (b: Buffer): bigint => BigInt(ptr(b)),
  error: (e: number): string => String(libc().strerror(e)),
};
