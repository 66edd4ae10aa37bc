/**
 * The collector: what box processes that were killed (kill -9, a reboot) left behind. An ephemeral
 * container that no longer runs is removed; a kept one stays (ps shows it dead) but gives back its
 * cgroups and network; scratch directories of containers that were never finished go. A container
 * whose lock is held is never touched: it is being made or it runs.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { listDir } from "../store/dirs";
import { listContainers, lockPath, type Listed } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { processStart } from "../store/process";
import { releaseResources, removeContainer } from "./remove";
import { isBusy, readPidfile } from "./state";

/** A scratch directory older than this whose lock is free belongs to a box that died making it. */
const SCRATCH_AGE_MS = 60_000;

export function collect(layout: Layout, listed: Listed[] = listContainers(layout)): void {
  for (const entry of listed) {
    if (!("record" in entry) || isBusy(layout, entry.id)) continue;
    const r = entry.record;
    // Never started: made by `box create`, it waits for `box start` (run records a start at once).
    if (r.autoRemove && r.startedAt !== undefined) {
      removeContainer(layout, r.id, r);
    } else if (r.cgroups.length > 0 || readPidfile(layout, r.id)) {
      // Kept: it stays as it is, without what it held while it ran.
      const lock = Lock.try(lockPath(layout, r.id), false);
      if (lock || Lock.held(lockPath(layout, r.id)) === undefined) {
        try {
          releaseResources(layout, r.id, r);
        } finally {
          lock?.release();
        }
      }
    }
  }
  for (const entry of listDir(layout.containers)) {
    if (!entry.startsWith(".new-")) continue;
    const dir = join(layout.containers, entry);
    if (Lock.held(join(dir, "lock")) === true) continue;
    if (Date.now() - mtime(dir) > SCRATCH_AGE_MS || Lock.held(join(dir, "lock")) === false) rmSync(dir, { recursive: true, force: true });
  }
  collectScratch(layout);
}

/** Scratch files in <lib>/tmp of box processes that are gone ("<kind>-<pid>-..."). */
export function collectScratch(layout: Layout): void {
  for (const entry of listDir(layout.tmp)) {
    const pid = Number(/^[a-z]+-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && processStart(pid) === undefined) {
      rmSync(join(layout.tmp, entry), { recursive: true, force: true });
    }
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
