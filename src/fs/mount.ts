/**
 * An overlay mounted nowhere: fsopen, fsconfig and fsmount (Linux 5.2) give a mount that is in no
 * mount table (no other process sees it, no path leads to it), reached only through the fd they
 * return, and gone when that fd closes, however box ends. box cp writes into a stopped container
 * through one (the kernel then does overlayfs's copy-up, whiteouts and opaque directories).
 */
import type * as Ffi from "bun:ffi";
import { Dir } from "./dir";
import { FsError } from "./errors";
import { cpath, errno, libc } from "./libc";

const SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432;
const FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1, FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
const MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4;

let sys: ((nr: number, a: number, b: number, c: number, d: number, e: number) => number) | undefined;

/** syscall(2) with five arguments (fsconfig takes five: src/fs/libc.ts's binding passes four). */
function syscall(nr: number, ...args: Array<number | Buffer>): number {
  if (!sys) {
    const { dlopen, FFIType: T } = require("bun:ffi") as typeof Ffi;
    const lib = dlopen("libc.so.6", { syscall: { args: [T.i64, T.i64, T.i64, T.i64, T.i64, T.i64], returns: T.i64_fast } });
    sys = (...a) => Number(lib.symbols.syscall(...a));
  }
  const { ptr } = require("bun:ffi") as typeof Ffi;
  const n = args.map((a) => (typeof a === "number" ? a : Number(ptr(a))));
  while (n.length < 5) n.push(0);
  return sys(nr, n[0]!, n[1]!, n[2]!, n[3]!, n[4]!);
}

function check(ret: number, what: string): number {
  if (ret < 0) throw new FsError(what, "overlay", errno());
  return ret;
}

/** The overlay of lowers (top first) under upper, with work as its work directory, as a Dir. */
export function detachedOverlay(lowers: readonly string[], upper: string, work: string, resolve: "beneath" | "in-root" = "beneath"): Dir {
  const fs = check(syscall(SYS_fsopen, cpath("overlay"), FSOPEN_CLOEXEC), "open a filesystem context for");
  try {
    const set = (key: string, value: string) => check(syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, cpath(key), cpath(value), 0), `set ${key} of`);
    // One lower directory at a time (Linux 6.8), else all at once (each value is at most 256 bytes).
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, cpath("lowerdir+"), cpath(lowers[0]!), 0) === 0) for (const l of lowers.slice(1)) set("lowerdir+", l);
    else set("lowerdir", lowers.join(":"));
    set("upperdir", upper);
    set("workdir", work);
    check(syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0), "create");
    const mnt = check(syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID), "mount");
    return Dir.adopt(mnt, resolve, "the container's root");
  } finally {
    libc().close(fs);
  }
}
