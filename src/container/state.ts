/**
 * What a container is doing now, read from what the kernel knows rather than from what was
 * written: its lock is held by whoever makes it and then by its supervisor, for as long as that
 * lives (the kernel drops the lock when it ends, kill -9 included); its pidfile says which
 * processes to signal, each checked before it is signalled.
 */
import { closeSync, readFileSync } from "node:fs";
import { exitPath, lockPath, pidPath, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { isPid, processStart } from "../store/process";
import { pidfdOpen, pidfdSignal } from "../sys/libc";

export interface Live {
  supervisor: number;
  supervisorStart: string;
  init: number;
  /** The init's start time (box 0.1's pidfiles lack it). */
  initStart?: string;
  /** With a restart policy: how often the container was started again (the pidfile's 5th field). */
  restarts?: number;
}

const PIDFILE = /^(\d+) (\d+) (\d+)(?: (\d+)(?: (\d+))?)?\n?$/;

/** The pidfile, when it is whole and names real pids (never 0, 1 or a negative number). */
export function readPidfile(layout: Layout, id: string): Live | undefined {
  let text: string;
  try {
    text = readFileSync(pidPath(layout, id), "utf8");
  } catch {
    return undefined;
  }
  const m = PIDFILE.exec(text);
  if (!m) return undefined;
  const live = { supervisor: Number(m[1]), supervisorStart: m[2]!, init: Number(m[3]), initStart: m[4], ...(m[5] ? { restarts: Number(m[5]) } : {}) };
  return isPid(live.supervisor) && isPid(live.init) ? live : undefined;
}

/** The running container's supervisor and init: the pidfile, checked against the kernel. */
export function live(layout: Layout, id: string): Live | undefined {
  const l = readPidfile(layout, id);
  return l && processStart(l.supervisor) === l.supervisorStart ? l : undefined;
}

export interface ExitInfo {
  status: number;
  oomKilled: boolean;
  finished: Date;
  /** With a restart policy: how often it had been started again when this run ended (4th field). */
  restarts?: number;
}

const EXITFILE = /^(\d{1,3}) ([01]) (\d{1,15})(?: (\d{1,9}))?\n?$/;

export function exitInfo(layout: Layout, id: string): ExitInfo | undefined {
  try {
    const m = EXITFILE.exec(readFileSync(exitPath(layout, id), "utf8"));
    if (!m || Number(m[1]) > 255) return undefined;
    return { status: Number(m[1]), oomKilled: m[2] === "1", finished: new Date(Number(m[3])), ...(m[4] ? { restarts: Number(m[4]) } : {}) };
  } catch {
    return undefined;
  }
}

export type Status = "created" | "running" | "restarting" | "exited" | "dead" | "removing";

/**
 * running: its supervisor holds the lock and has written the pidfile; created: being set up (the
 * lock is held, no pidfile yet), or made by `box create` and never started; exited: its supervisor
 * recorded how it ended; restarting: it ended, and its supervisor (still holding it) starts it
 * again after the back-off of its restart policy; dead: it was started, and its supervisor is gone
 * without a word (killed, or a reboot); removing: its directory is going away as we look (its lock
 * file is gone).
 */
export function statusOf(layout: Layout, r: ContainerRecord): Status {
  const held = Lock.held(lockPath(layout, r.id));
  if (held === undefined) {
    if (r.request) return "removing";
    // A container of box 0.1 has no lock: its supervisor's pid and start time tell.
    if (live(layout, r.id)) return "running";
    return exitInfo(layout, r.id) ? "exited" : "dead";
  }
  const exit = exitInfo(layout, r.id);
  if (exit) return held && exit.restarts !== undefined ? "restarting" : "exited";
  if (held) return readPidfile(layout, r.id) ? "running" : "created";
  return r.startedAt ? "dead" : "created";
}

/** Whether anything of the container runs or is being made: its lock is held. */
export function isBusy(layout: Layout, id: string): boolean {
  const held = Lock.held(lockPath(layout, id));
  return held === undefined ? live(layout, id) !== undefined : held;
}

/**
 * Sends a signal to the container's supervisor (which passes it on to the command) or to its init,
 * through a pidfd: the process is pinned first, then checked (the supervisor by its start time,
 * init by being the supervisor's child), then signalled, so a recycled pid is never signalled.
 * Returns false when the container no longer runs.
 */
export function signalContainer(layout: Layout, id: string, sig: number, target: "supervisor" | "init"): boolean {
  const l = readPidfile(layout, id);
  if (!l) return false;
  const pid = target === "supervisor" ? l.supervisor : l.init;
  const fd = pidfdOpen(pid);
  if (fd === undefined) return false;
  try {
    if (processStart(l.supervisor) !== l.supervisorStart) return false;
    if (target === "init" && parentOf(l.init) !== l.supervisor) return false;
    return pidfdSignal(fd, sig);
  } finally {
    closeSync(fd);
  }
}

export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
