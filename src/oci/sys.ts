/** libc calls the runc CLI needs beyond src/sys/libc.ts: mkfifo for the hold FIFO of create. */
import { dlopen, FFIType, read } from "bun:ffi";
import { BoxError } from "../errors";

function load() {
  return dlopen("libc.so.6", {
    mkfifo: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  }).symbols;
}

let lib: ReturnType<typeof load> | undefined;

export function mkfifo(path: string, mode: number): void {
  const c = (lib ??= load());
  if (c.mkfifo(Buffer.from(path + "\0"), mode) === 0) return;
  const p = c.__errno_location();
  const errno = p ? read.i32(p, 0) : 0;
  throw new BoxError(`cannot make the FIFO ${path}: ${String(c.strerror(errno))}`, 1);
}
