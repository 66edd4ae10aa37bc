/**
 * The collector: what box processes that were killed (kill -9, a reboot) left behind. It looks only
 * at containers marked active (started, and not yet given back what they held) and at scratch
 * directories, so its cost does not grow with the containers that merely exist. A container whose
 * lock is held is never touched: it is being made, or it runs. Of the others, an ephemeral one is
 * removed; a kept one stays (ps shows it dead) but gives back its cgroups and network.
 */
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { scratchOwner } from "../store/atomic";
import { listDir } from "../store/dirs";
import { activeIds, activePath, containerDir, DamagedRecord, lockPath, readRecord, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { processStart } from "../store/process";
import { removeTree } from "../userns/remove";
import { releaseResources, removeContainer } from "./remove";
import { removeAnonymousVolumesNow } from "./volumes";
import { isBusy } from "./state";

/** A scratch directory older than this whose lock is free belongs to a box that died making it. */
const SCRATCH_AGE_MS = 60_000;

/**
 * With a budget, at most that many active containers are looked at, from a random place in the
 * list, and the scratch entries (which only take space) are left for a full collection: a command
 * that only needs its own container (run, exec) then costs the same with a thousand containers as
 * with one, and a container a killed box left is still found within a few commands. Nothing waits
 * on that: what a dead container held (its name, address, ports) is taken back by whoever needs it
 * (src/store/claim.ts), and `box ps` and the removing commands collect everything.
 */
export function collect(layout: Layout, budget = Infinity): void {
  for (const id of someOf(activeIds(layout), budget)) {
    if (beingMade(layout, id) || isBusy(layout, id)) continue;
    let r: ContainerRecord | undefined;
    try {
      r = readRecord(layout, id);
    } catch (err) {
      if (!(err instanceof DamagedRecord)) throw err;
    }
    const exists = existsSync(containerDir(layout, id));
    if (!exists || r?.autoRemove) {
      // An ephemeral container's anonymous volumes go with it, as with --rm.
      if (removeContainer(layout, id, r) && r) removeAnonymousVolumesNow(layout, r);
    } else {
      const lock = Lock.try(lockPath(layout, id), false);
      if (!lock && Lock.held(lockPath(layout, id)) !== undefined) continue;
      try {
        if (!releaseResources(layout, id, r)) continue;
      } finally {
        lock?.release();
      }
    }
    rmSync(activePath(layout, id), { force: true });
  }
  if (budget !== Infinity) return;
  const containers = listDir(layout.containers); // read once: a thousand entries are not free
  for (const entry of containers) {
    const maker = /^\.new-(\d+)-/.exec(entry);
    if (!maker) continue;
    const dir = join(layout.containers, entry);
    // Its maker creates the lock file, then takes it: free is only final once the maker is gone.
    if (Lock.held(join(dir, "lock")) === true) continue;
    if (processStart(Number(maker[1])) === undefined || Date.now() - mtime(dir) > SCRATCH_AGE_MS) rmSync(dir, { recursive: true, force: true });
  }
  collectScratch(layout, containers);
}

/**
 * A container is marked active while its directory still has its scratch name (.new-PID-ID), just
 * before the rename. Looked at in this order (real name, scratch name, real name again), a rename
 * in between cannot make a container being made look gone.
 */
function beingMade(layout: Layout, id: string): boolean {
  if (existsSync(containerDir(layout, id))) return false;
  const scratch = listDir(layout.containers).find((e) => e.startsWith(".new-") && e.endsWith(`-${id}`));
  // Its maker's pid is in its name: a maker that is gone makes nothing any more.
  return scratch !== undefined && processStart(Number(/^\.new-(\d+)-/.exec(scratch)?.[1])) !== undefined;
}

/**
 * Scratch files of box processes that are gone: in <lib>/tmp ("<kind>-<pid>-..."), and the
 * half-written files of atomic writes ("<name>.tmp-<pid>-...") beside the entries they were to
 * replace. Never mistaken for entries, never left to pile up.
 */
export function collectScratch(layout: Layout, containers = listDir(layout.containers)): void {
  const gone = (pid: number | undefined) => pid !== undefined && pid !== process.pid && processStart(pid) === undefined;
  for (const entry of listDir(layout.tmp)) {
    const m = /^[a-z]+-(\d+)-/.exec(entry);
    if (m && gone(Number(m[1]))) removeTree(join(layout.tmp, entry), layout.userns);
  }
  for (const dir of [layout.active, layout.names, layout.run, layout.refs, layout.containers]) {
    for (const entry of dir === layout.containers ? containers : listDir(dir)) {
      if (gone(scratchOwner(entry))) rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  // The supervisor writes its pidfile as "<id>.pid.tmp" first: left only when it was killed.
  for (const entry of listDir(layout.run)) {
    const m = /^([0-9a-f]{64})\.pid\.tmp/.exec(entry);
    if (m && !isBusy(layout, m[1]!)) rmSync(join(layout.run, entry), { force: true });
  }
}

function someOf(ids: string[], budget: number): string[] {
  if (ids.length <= budget) return ids;
  const from = Math.floor(Math.random() * ids.length);
  return [...ids.slice(from), ...ids.slice(0, from)].slice(0, budget);
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
