import { openSync, closeSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { BoxError } from "../errors";
import { processStart } from "./process";
import { onInterrupt } from "./interrupt";

/**
 * A lock between box processes: a file created exclusively, holding the owner's pid and start time.
 * A lock whose owner is gone (killed) is taken over; a live owner is waited for. Used so that two
 * pulls or imports of one image do the work once.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  const me = `${process.pid} ${processStart(process.pid) ?? ""}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = "";
    try {
      holder = readFileSync(path, "utf8");
    } catch {
      continue; // released meanwhile
    }
    const [pid, start] = holder.split(" ");
    if (holder !== "" && processStart(Number(pid)) !== start) {
      try {
        unlinkSync(path); // its owner is gone
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (Date.now() > deadline) throw new BoxError(`timed out waiting for ${path}, held by process ${pid}`);
    await Bun.sleep(25);
  }
  const release = () => {
    try {
      if (readFileSync(path, "utf8") === me) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  const done = onInterrupt(release);
  try {
    return await fn();
  } finally {
    release();
    done();
  }
}
