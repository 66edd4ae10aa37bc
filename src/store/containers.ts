import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeCgroup } from "../cgroup/setup";
import { BoxError } from "../errors";
import { writeFileAtomic } from "./atomic";
import { shortId } from "./ids";
import type { Layout } from "./layout";

/** What box records about a running container, in <run>/<id>.json (live state: a reboot clears it). */
export interface ContainerState {
  id: string;
  name?: string;
  image: string;
  /** The stored image the container runs on (none for a --rootfs directory). */
  imageDigest?: string;
  /** The container's cgroup directories on the host. */
  cgroups?: string[];
  argv: string[];
  created: string;
  /** The supervisor (box's own process after it exec'd into the helper) and its start time,
   * so a recycled pid is not mistaken for it. */
  pid: number;
  pidStart: string;
}

export function containerDir(layout: Layout, id: string): string {
  return join(layout.containers, id);
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function isAlive(state: Pick<ContainerState, "pid" | "pidStart">): boolean {
  return processStart(state.pid) === state.pidStart;
}

export function statePath(layout: Layout, id: string): string {
  return join(layout.run, `${id}.json`);
}

export function readState(layout: Layout, id: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(layout, id), "utf8")) as ContainerState;
  } catch {
    return undefined;
  }
}

export function writeState(layout: Layout, state: ContainerState): void {
  // Live state: atomic, but not fsync'd (it describes processes, which a power cut ends too).
  writeFileAtomic(statePath(layout, state.id), JSON.stringify(state, null, 2) + "\n", 0o644, false);
}

/**
 * Claims a name for a container: the name file is created exclusively, so of two runs racing for
 * one name exactly one wins. A name held by a container that is gone (box was killed) is reclaimed.
 */
export function reserveName(layout: Layout, name: string, id: string): void {
  const path = join(layout.names, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, id, { flag: "wx", mode: 0o644 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readFileSync(path, "utf8").trim();
    const state = readState(layout, holder);
    if (state && isAlive(state)) {
      throw new BoxError(
        `the container name "${name}" is already in use by container ${shortId(holder)}: remove that container or choose another name`,
      );
    }
    // The holder is gone: clean what it left and try once more (the exclusive create still decides races).
    removeContainer(layout, holder, name);
  }
  throw new BoxError(`the container name "${name}" is already in use`);
}

export function removeContainer(layout: Layout, id: string, name?: string): void {
  const state = readState(layout, id);
  // Its cgroups first: while one cannot be removed yet, the state that names it is kept for next time.
  if (state?.cgroups && !removeCgroup(state.cgroups, 2000)) return;
  rmSync(containerDir(layout, id), { recursive: true, force: true });
  rmSync(statePath(layout, id), { force: true });
  if (name) {
    const path = join(layout.names, name);
    try {
      if (readFileSync(path, "utf8").trim() === id) unlinkSync(path);
    } catch {
      /* not ours, or already gone */
    }
  }
}

/**
 * Removes what containers left when box was killed: a container directory whose supervisor is
 * gone. Directories without a state file yet belong to a run that is still being set up, unless
 * they are old.
 */
export function collectStale(layout: Layout): void {
  for (const id of listDir(layout.containers)) {
    const state = readState(layout, id);
    if (state ? isAlive(state) : Date.now() - safeMtime(containerDir(layout, id)) < 10 * 60_000) continue;
    removeContainer(layout, id, state?.name);
  }
}

/** The entries of a directory, or none when it cannot be read (not made yet, removed meanwhile). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export function ensureDirs(layout: Layout): void {
  for (const dir of [layout.lib, layout.run, layout.images, layout.containers, layout.names, layout.refs, layout.locks, layout.tmp]) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}
