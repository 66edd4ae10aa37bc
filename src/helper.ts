import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { closeSync, readFileSync, writeSync } from "node:fs";
import { embedded } from "./embedded";
import { BoxError } from "./errors";

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;
const AT_EMPTY_PATH = 0x1000;

function libc() {
  return dlopen("libc.so.6", {
    memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    execveat: { args: [FFIType.i32, FFIType.cstring, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  }).symbols;
}

type Libc = ReturnType<typeof libc>;

function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}

function lastError(c: Libc): string {
  const errnoPtr = c.__errno_location();
  const errno = errnoPtr ? read.i32(errnoPtr, 0) : 0;
  return String(c.strerror(errno));
}

function memfd(c: Libc, name: string, flags: number, data: Uint8Array): number {
  const fd = c.memfd_create(cstr(name), flags);
  if (fd < 0) throw new BoxError(`cannot create a memfd for the ${name}: ${lastError(c)}`);
  // All of it: a short write (a memfd only shrinks under memory pressure, but still) is followed up.
  for (let done = 0; done < data.length; ) {
    const n = writeSync(fd, data, done, data.length - done);
    if (n <= 0) throw new BoxError(`cannot write the ${name} into its memfd`);
    done += n;
  }
  return fd;
}

/** A NULL-terminated array of C strings; the buffers are returned too so they outlive the call. */
function cArray(strings: string[]): { array: BigUint64Array; keep: Buffer[] } {
  const keep = strings.map(cstr);
  const array = new BigUint64Array(keep.length + 1);
  keep.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, keep };
}

/**
 * Prepares the exec of the helper, which then supervises the container, replacing this Bun process:
 * nothing of Bun stays resident while a container runs. The helper runs from a sealed memfd (it
 * cannot be rewritten, even through /proc/PID/exe: CVE-2019-5736) and reads its plan from a second
 * memfd. The returned function exec's; it returns only by throwing.
 */
export function prepareHelper(helper: Uint8Array, plan: Uint8Array, root: string): () => never {
  const c = libc();
  const exe = memfd(c, "box-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING, helper);
  if (c.fcntl(exe, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    throw new BoxError(`cannot seal the helper's memfd: ${lastError(c)}`);
  }
  // Not close-on-exec: the helper inherits it, reads it, closes it.
  const planFd = memfd(c, "box-plan", 0, plan);
  const argv = cArray(["box-helper", "--plan-fd", String(planFd)]);
  // The helper reads no environment; BOX_ROOT only labels its processes (and the container's
  // init, a copy of it) with the store they belong to, for a person (or a test) looking at ps.
  const envp = cArray([`BOX_ROOT=${root}`]);
  const empty = cstr("");
  return () => {
    c.execveat(exe, empty, ptr(argv.array), ptr(envp.array), AT_EMPTY_PATH);
    throw new BoxError(`cannot start the helper: ${lastError(c)}`);
  };
}

/**
 * Runs the helper as a child of box, not in its place: for a tool that runs as root of a user
 * namespace (helper/userns.c, MODE_USERNS), box's own unpacker or a removal. The helper runs from a
 * sealed memfd of this process's (reached through /proc/<pid>/fd), its plan arrives on its fd 3.
 */
function helperChild<T>(plan: Uint8Array, start: (argv: string[], planFd: number) => T, done: (t: T, close: () => void) => void): T {
  const c = libc();
  const exe = memfd(c, "box-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING, readFileSync(embedded.helperPath));
  const close = () => [exe, planFd].forEach((fd) => closeSync(fd));
  if (c.fcntl(exe, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) throw new BoxError(`cannot seal the helper's memfd: ${lastError(c)}`);
  const planFd = memfd(c, "box-plan", MFD_CLOEXEC, plan);
  let t: T;
  try {
    t = start([`/proc/${process.pid}/fd/${exe}`, "--plan-fd", "3"], planFd);
  } catch (err) {
    close();
    throw err;
  }
  done(t, close);
  return t;
}

export type ToolStdio = { stdin?: "pipe" | "ignore" | ReadableStream<Uint8Array>; stdout?: "pipe" | "inherit"; stderr?: "pipe" | "inherit" };

export function spawnHelper(plan: Uint8Array, stdio: ToolStdio = {}) {
  return helperChild(
    plan,
    (argv, planFd) => Bun.spawn(argv, { argv0: "box-helper", stdio: [stdio.stdin ?? "ignore", stdio.stdout ?? "inherit", stdio.stderr ?? "inherit", planFd], env: {} }),
    // Kept open until it ends: the child may still be on its way to its execve.
    (proc, close) => void proc.exited.then(close, close),
  );
}

/** The same, waited for: its exit status (its stderr is box's). */
export function runHelper(plan: Uint8Array): number {
  return helperChild(
    plan,
    (argv, planFd) => Bun.spawnSync(argv, { argv0: "box-helper", stdio: ["ignore", "inherit", "inherit", planFd], env: {} }).exitCode ?? 125,
    (_code, close) => close(),
  );
}

/**
 * Hands a plan to the embedded helper and becomes it. A signal that arrived during the synchronous
 * work before is only delivered to JavaScript on the next turn of the event loop: that turn is
 * taken just before the exec, so such a signal undoes what is prepared instead of being lost. From
 * the exec on, the helper has every signal blocked and handles them itself.
 */
export async function becomeHelper(plan: Uint8Array, layout: { lib: string }): Promise<never> {
  const helper = new Uint8Array(await Bun.file(embedded.helperPath).arrayBuffer());
  const exec = prepareHelper(helper, plan, layout.lib);
  await new Promise((resolve) => setImmediate(resolve));
  return exec();
}
