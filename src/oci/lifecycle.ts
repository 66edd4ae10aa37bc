/**
 * What start, kill and delete do to a container once its state is read:
 *
 *   release   start: the held command is released by reading the byte it writes into the FIFO
 *   signal    kill: the container's process through a pidfd, checked by its start time first (a
 *             pid alone may have been reused); --all: every process of its cgroup
 *   destroy   delete: the process killed and waited for, whatever else is in its cgroup killed,
 *             the cgroups it made removed, the poststop hooks, the state directory
 */
import { closeSync, constants, openSync, readSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { constants as os } from "node:os";
import { join } from "node:path";
import { signalName } from "../container/signal";
import { BoxError } from "../errors";
import { processStart } from "../store/process";
import { pidfdOpen, pidfdSignal } from "../sys/libc";
import { cgroupPids, removeDirs } from "./cgroups";
import { runHooks } from "./hooks";
import { warn } from "./log";
import { freezerDir, isFrozen } from "./resources";
import { stateDocument, type Saved, type Store } from "./state";

/** "KILL", "SIGKILL", "9": the signal's number. */
export function signalNumber(text: string): number {
  try {
    return (os.signals as Record<string, number>)[signalName(text)]!;
  } catch {
    throw new BoxError(`unknown signal "${text.slice(0, 32)}"`, 1);
  }
}

/** One process, pinned by a pidfd and checked against its start time; false when it has ended. */
export function signalProcess(pid: number, start: string | undefined, sig: number): boolean {
  const fd = pidfdOpen(pid);
  if (fd === undefined) return false;
  try {
    if (start !== undefined && processStart(pid) !== start) return false;
    return pidfdSignal(fd, sig);
  } finally {
    closeSync(fd);
  }
}

export function signalAll(s: Saved, sig: number): void {
  for (const pid of cgroupPids(s.cgroups.dirs)) {
    const start = processStart(pid);
    if (start !== undefined) signalProcess(pid, start, sig);
  }
}

/** start: reads the byte the held command writes once someone opens the FIFO for reading. */
export async function release(store: Store, s: Saved, timeoutMs = 10_000): Promise<void> {
  const fifo = store.file(s.id, "exec.fifo");
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    const p = store.process(s.id);
    for (const end = Date.now() + timeoutMs; ; ) {
      try {
        if (readSync(fd, buf, 0, 1, null) === 1) break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      }
      if (!p || processStart(p.pid) !== p.start) throw new BoxError("the container's process ended before it was started", 1);
      if (Date.now() > end) throw new BoxError("the container did not take the start within 10 s", 1);
      await Bun.sleep(1);
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
}

/** Thaws a paused container (a frozen process takes no signal). */
export function thaw(s: Saved): void {
  if (!isFrozen(s.host, s.cgroups)) return;
  const { dir, file } = freezerDir(s.host, s.cgroups);
  writeFileSync(join(dir, file), file === "cgroup.freeze" ? "0" : "THAWED");
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(5)) if (check()) return true;
  return check();
}

/** delete: nothing of the container is left. */
export async function destroy(store: Store, s: Saved): Promise<void> {
  const p = store.process(s.id);
  const alive = () => p !== undefined && processStart(p.pid) === p.start;
  if (alive()) {
    thaw(s);
    signalProcess(p!.pid, p!.start, os.signals.SIGKILL);
  }
  // A PID namespace ends with its first process; without one of its own, the cgroup says who is left.
  for (let i = 0; i < 3 && cgroupPids(s.cgroups.dirs).length > 0; i++) {
    signalAll(s, os.signals.SIGKILL);
    await until(() => cgroupPids(s.cgroups.dirs).length === 0, 1000);
  }
  if (!(await until(() => !alive(), 10_000))) warn(`the process ${p!.pid} of container ${s.id} did not end after SIGKILL`);
  if (!removeDirs(s.cgroups.made, 2000)) warn(`cannot remove every cgroup of container ${s.id}: ${s.cgroups.made.join(" ")}`);
  try {
    await runHooks("poststop", s.poststop, stateDocument(s, "stopped", 0));
  } catch (err) {
    warn((err as Error).message);
  }
  rmSync(store.dir(s.id), { recursive: true, force: true });
}
