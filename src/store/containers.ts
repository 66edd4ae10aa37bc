import { existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeCgroup } from "../cgroup/setup";
import { releaseNetwork, type PortsRecord } from "../net/setup";
import { BoxError } from "../errors";
import type { Spec } from "../spec/types";
import { writeFileAtomic } from "./atomic";
import { listDir } from "./dirs";
import { shortId } from "./ids";
import { processStart } from "./process";
export { listDir } from "./dirs";
export { processStart } from "./process";
import type { Layout } from "./layout";

/**
 * A container on disk:
 *   <lib>/containers/<id>/config.json   what it is (written once, durably, before it starts)
 *   <lib>/containers/<id>/exit          "status oom-killed finished-ms", written by its supervisor
 *   <lib>/containers/<id>/log           output of a detached container (and log.1, the older part)
 *   <lib>/containers/<id>/upper, work   its overlay layer
 *   <run>/<id>.pid                      "supervisor-pid start-time init-pid" while it runs
 *   <lib>/names/<name>                  its name, holding the id
 * Whether it runs is never stored: it is read from the supervisor's pid and start time, so a crash
 * or a reboot cannot leave a container that claims to run.
 */
export interface ContainerConfig {
  id: string;
  name?: string;
  image: string;
  /** The stored image it runs on (none for a --rootfs directory). */
  imageDigest?: string;
  argv: string[];
  created: string;
  /** Its cgroup directories on the host. */
  cgroups: string[];
  detached: boolean;
  /** Removed when it ends: a foreground run without --name, or --rm. */
  autoRemove: boolean;
  /** The box process that made it, alive while it is being set up. */
  creator: { pid: number; start: string };
  /** Its limits as given, for inspect. */
  limits: Record<string, unknown>;
  /** Published ports, and the nftables table that carries them (removed with the container). */
  ports?: PortsRecord;
  spec: Spec;
}

export function containerDir(layout: Layout, id: string): string {
  return join(layout.containers, id);
}
export const configPath = (layout: Layout, id: string) => join(containerDir(layout, id), "config.json");
export const exitPath = (layout: Layout, id: string) => join(containerDir(layout, id), "exit");
export const logPath = (layout: Layout, id: string) => join(containerDir(layout, id), "log");
export const pidPath = (layout: Layout, id: string) => join(layout.run, `${id}.pid`);

export function readConfig(layout: Layout, id: string): ContainerConfig | undefined {
  try {
    return JSON.parse(readFileSync(configPath(layout, id), "utf8")) as ContainerConfig;
  } catch {
    return undefined;
  }
}

/** Atomic always; fsync'd only for a container that is kept: an ephemeral one is gone after a
 * crash anyway, and the fsync would be most of what its start costs on some disks. */
export function writeConfig(layout: Layout, config: ContainerConfig): void {
  writeFileAtomic(configPath(layout, config.id), JSON.stringify(config, null, 2) + "\n", 0o644, !config.autoRemove);
}

export interface Live {
  supervisor: number;
  init: number;
}

/** The running container's supervisor and init, or undefined when it does not run. */
export function live(layout: Layout, id: string): Live | undefined {
  try {
    const [sup, start, init] = readFileSync(pidPath(layout, id), "utf8").trim().split(" ");
    if (processStart(Number(sup)) !== start || existsSync(exitPath(layout, id))) return undefined;
    return { supervisor: Number(sup), init: Number(init) };
  } catch {
    return undefined;
  }
}

export interface ExitInfo {
  status: number;
  oomKilled: boolean;
  finished: Date;
}

export function exitInfo(layout: Layout, id: string): ExitInfo | undefined {
  try {
    const [status, oom, ms] = readFileSync(exitPath(layout, id), "utf8").trim().split(" ");
    return { status: Number(status), oomKilled: oom === "1", finished: new Date(Number(ms)) };
  } catch {
    return undefined;
  }
}

/** Still being set up by the box process that is making it. */
function beingMade(c: ContainerConfig): boolean {
  return processStart(c.creator.pid) === c.creator.start;
}

export type Status = "created" | "running" | "exited" | "dead";

/** What a container is now: running (its supervisor lives), exited (its supervisor recorded how),
 * created (being set up), or dead (its supervisor is gone without a word: killed, or a reboot). */
export function statusOf(layout: Layout, c: ContainerConfig): Status {
  if (live(layout, c.id)) return "running";
  if (exitInfo(layout, c.id)) return "exited";
  return beingMade(c) && !existsSync(pidPath(layout, c.id)) ? "created" : "dead";
}

export function listContainers(layout: Layout): ContainerConfig[] {
  return listDir(layout.containers)
    .map((id) => readConfig(layout, id))
    .filter((c): c is ContainerConfig => c !== undefined)
    .sort((a, b) => b.created.localeCompare(a.created));
}

/**
 * A container by name, full id, or unique id prefix, as docker resolves them. An ambiguous prefix
 * is an error naming the candidates.
 */
export function resolveContainer(layout: Layout, word: string): ContainerConfig {
  try {
    const id = readFileSync(join(layout.names, word), "utf8").trim();
    const c = readConfig(layout, id);
    if (c) return c;
  } catch {
    /* not a name */
  }
  if (/^[0-9a-f]+$/.test(word)) {
    const matches = listDir(layout.containers).filter((id) => id.startsWith(word));
    if (matches.length > 1) {
      throw new BoxError(`the container prefix "${word}" is ambiguous: it matches ${matches.map(shortId).join(", ")}`);
    }
    const c = matches[0] && readConfig(layout, matches[0]);
    if (c) return c;
  }
  throw new BoxError(`no such container: ${word}`);
}

/**
 * Claims a name for a container: the name file is created exclusively, so of two runs racing for
 * one name exactly one wins. A name stays taken until its container is removed; a name whose
 * container is gone (box was killed while making it) is reclaimed.
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
    let holder = "";
    try {
      holder = readFileSync(path, "utf8").trim();
    } catch {
      continue; // released meanwhile
    }
    if (existsSync(containerDir(layout, holder))) {
      throw new BoxError(
        `the container name "${name}" is already in use by container ${shortId(holder)}: remove that container or choose another name`,
      );
    }
    try {
      unlinkSync(path); // its container is gone
    } catch {
      /* someone else reclaimed it first */
    }
  }
  throw new BoxError(`the container name "${name}" is already in use`);
}

/** Removes everything of a container: cgroups (first: while one cannot go yet, the rest is kept for
 * the next attempt), directory, live state, name. */
export function removeContainer(layout: Layout, id: string, name?: string): boolean {
  const config = readConfig(layout, id);
  if (config?.cgroups && !removeCgroup(config.cgroups, 2000)) return false;
  rmSync(containerDir(layout, id), { recursive: true, force: true });
  rmSync(pidPath(layout, id), { force: true });
  releaseNetwork(layout, id, config?.ports);
  const holder = name ?? config?.name;
  if (holder) {
    const path = join(layout.names, holder);
    try {
      if (readFileSync(path, "utf8").trim() === id) unlinkSync(path);
    } catch {
      /* not ours, or already gone */
    }
  }
  return true;
}

/**
 * What containers left when their box was killed: an ephemeral container that no longer runs is
 * removed; a kept one stays (ps shows it dead) but loses its cgroups. A directory without a config
 * belongs to a run being set up, unless it is old.
 */
export function collectStale(layout: Layout): void {
  for (const id of listDir(layout.containers)) {
    const c = readConfig(layout, id);
    if (!c) {
      if (Date.now() - safeMtime(containerDir(layout, id)) > 10 * 60_000) removeContainer(layout, id);
      continue;
    }
    const status = statusOf(layout, c);
    if (status === "running" || status === "created") continue;
    if (c.autoRemove) removeContainer(layout, id);
    else {
      removeCgroup(c.cgroups);
      releaseNetwork(layout, id, c.ports);
    }
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
