/** stop and kill: signals to a running container, through pidfds (src/container/state.ts). */
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { BoxError } from "../errors";
import { writeFileAtomic } from "../store/atomic";
import { stoppedPath, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { isPid } from "../store/process";
import { isBusy, live, signalContainer } from "./state";

/** Signals the supervisor passes on to the command; the others go to the container's init itself. */
const FORWARDED = new Set(["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH"]);

export function signalName(text: string): string {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(text));
    if (name) return name;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    if (name in signals) return name;
  }
  throw new BoxError(`invalid signal "${text.slice(0, 32)}"`);
}

/** What box stop sends first: --stop-signal, else the image's STOPSIGNAL, else SIGTERM (a damaged one is ignored). */
export function stopSignalOf(r: ContainerRecord | undefined): string {
  for (const given of [r?.request?.stopSignal, r?.stopSignal]) {
    try {
      if (given) return signalName(given);
    } catch {
      /* the next */
    }
  }
  return "SIGTERM";
}

function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name]!;
}

/**
 * Sends a signal by name; false when the container does not run. A container that shares the
 * host's PID namespace has no namespace init whose end takes the rest down: SIGKILL also goes to
 * every process of its cgroup.
 */
export function killContainer(layout: Layout, id: string, sig: string, r?: ContainerRecord): boolean {
  if (sig === "SIGKILL" && r?.request?.hostNamespaces?.includes("pid")) killCgroup(r.cgroups);
  return signalContainer(layout, id, signalNumber(sig), FORWARDED.has(sig) ? "supervisor" : "init");
}

/** SIGKILL to every process in the container's own cgroups (only ever its own: box/<id>). */
export function killCgroup(dirs: readonly string[]): void {
  for (const dir of dirs) {
    if (!/\/[0-9a-f]{64}$/.test(dir)) continue;
    let pids: string[];
    try {
      pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids.map(Number).filter(isPid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

/** Marks a container as stopped by a person (box stop, box kill): a restart policy does not bring it back. */
export function markStopped(layout: Layout, id: string): void {
  try {
    writeFileAtomic(stoppedPath(layout, id), "");
  } catch {
    /* its directory is gone: nothing to restart */
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** SIGTERM to the command (its supervisor forwards it), SIGKILL to its init after the grace period;
 * returns once the supervisor has recorded the end, cleaned up and let go of the container. */
export async function stopContainer(layout: Layout, id: string, graceMs: number, sig = "SIGTERM", r?: ContainerRecord): Promise<void> {
  // A container whose command has ended (nothing left to signal) may still be held by its
  // supervisor, alive by its whole pidfile, while it records the end and cleans up: that is
  // waited for too. A damaged pidfile names nobody to wait for.
  if (!killContainer(layout, id, sig, r) && !(isBusy(layout, id) && live(layout, id))) return;
  if (!(await until(() => !isBusy(layout, id), graceMs))) killContainer(layout, id, "SIGKILL", r);
  await until(() => !isBusy(layout, id), 10_000);
}
