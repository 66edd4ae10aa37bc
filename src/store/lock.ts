import { closeSync, fstatSync, openSync, statSync, unlinkSync } from "node:fs";
import { BoxError } from "../errors";
import { isLocked, tryLock } from "../sys/libc";

/**
 * A lock between box processes: an open file description lock (fcntl F_OFD_SETLK) on a file. The
 * kernel lets go of it when its holder ends,
 * however it ends (kill -9 included), so a lock is never stale and its file's content means
 * nothing: an empty or damaged lock file is just a lock file. The fd may be handed down to the
 * helper (see Lock.fd), which then holds the lock for as long as it lives.
 */
export class Lock {
  private constructor(public path: string, readonly fd: number) {}

  /** Takes the lock now, or returns undefined when another process holds it (or create is false and
   * there is no such file). */
  static try(path: string, create = true): Lock | undefined {
    for (;;) {
      let fd: number;
      try {
        fd = openSync(path, create ? "a" : "r+", 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && !create) return undefined;
        throw err;
      }
      if (!tryLock(fd)) {
        closeSync(fd);
        return undefined;
      }
      // A holder may have removed the file while we waited: a lock on a removed file locks nothing.
      if (sameFile(fd, path)) return new Lock(path, fd);
      closeSync(fd);
      if (!create) return undefined;
    }
  }

  /** Whether a process holds the lock at path now (nothing is taken); undefined without the file. */
  static held(path: string): boolean | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return undefined;
    }
    try {
      return isLocked(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for the lock (polling, so a Ctrl-C is still handled), at most timeoutMs. */
  static async take(path: string, what: string, timeoutMs = 15 * 60_000): Promise<Lock> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const lock = Lock.try(path);
      if (lock) return lock;
      if (Date.now() > deadline) throw new BoxError(`gave up waiting for ${what}: another box command has held it for ${Math.round(timeoutMs / 1000)} s`);
      await Bun.sleep(delay);
    }
  }

  /** Waits for a lock that is only ever held for a moment (a few file operations), without the
   * event loop. */
  static takeSync(path: string, what: string, timeoutMs = 10_000): Lock {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lock = Lock.try(path);
      if (lock) return lock;
      if (Date.now() > deadline) throw new BoxError(`gave up waiting for ${what}: another box command has held it for ${Math.round(timeoutMs / 1000)} s`);
      Bun.sleepSync(2);
    }
  }

  /** Lets go; with remove, the file goes first (while still held, so nobody takes a removed lock). */
  release(remove = false): void {
    if (remove) {
      try {
        unlinkSync(this.path);
      } catch {
        /* gone already */
      }
    }
    closeSync(this.fd);
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Runs fn holding the lock at path. Used so that two pulls of one image do the work once, and so
 * that two commands never change one container at the same time. */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000, what = `the lock ${path}`): Promise<T> {
  const lock = await Lock.take(path, what, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release(true);
  }
}
