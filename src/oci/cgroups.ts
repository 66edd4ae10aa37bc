/**
 * A container's cgroups for the runc CLI: linux.cgroupsPath in every hierarchy of the host (cgroup
 * v1: each mounted controller, as runc joins them; v2: the unified one), made when missing, its
 * limits written (resources.ts), the device rules on v1 (devices.ts). The container's first process
 * is in them before it does anything else: on v1 it writes 0 into each tasks file itself
 * (cgroup_tasks records), on v2 it is born there (CLONE_INTO_CGROUP).
 *
 * cgroupsPath: an absolute path is taken from the root of each hierarchy (podman's
 * /libpod_parent/libpod-ID); a relative one, and the default box-runc/ID, below box's own cgroup.
 * systemd's "slice:prefix:name" form is refused: box talks to no systemd.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMountinfo, parseProcCgroup, type CgroupMode } from "../cgroup/detect";
import { removeCgroup } from "../cgroup/setup";
import { BoxError } from "../errors";

export interface Hierarchy {
  /** Where it is mounted. */
  mount: string;
  /** Its controllers ("" for the v2 hierarchy, whose controllers are in cgroup.controllers). */
  controllers: string[];
  /** box's own cgroup in it. */
  own: string;
}

export interface HostCgroups {
  mode: CgroupMode;
  hierarchies: Hierarchy[];
}

export function hostCgroups(): HostCgroups {
  const mounts = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  const own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  const v1: Hierarchy[] = [];
  for (const m of mounts.filter((x) => x.fsType === "cgroup")) {
    const controllers = m.superOptions.filter((o) => /^[a-z_]+$/.test(o) && !["rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children", "xattr", "noprefix"].includes(o));
    if (controllers.length === 0 || v1.some((h) => h.mount === m.mountPoint)) continue;
    v1.push({ mount: m.mountPoint, controllers, own: own.v1[controllers[0]!] ?? "/" });
  }
  const v2 = mounts.find((x) => x.fsType === "cgroup2");
  if (v1.length > 0) return { mode: v2 ? "hybrid" : "v1", hierarchies: v1 };
  if (v2) return { mode: "v2", hierarchies: [{ mount: v2.mountPoint, controllers: [], own: own.v2 ?? "/" }] };
  throw new BoxError("this host has no cgroup hierarchy mounted", 1);
}

/** The container's cgroup, relative to each hierarchy's root ("" own for an absolute path). */
export function checkCgroupsPath(path: string | undefined, id: string): string {
  const p = path ?? `box-runc/${id}`;
  if (/^[^/]*:[^/]*:/.test(p)) throw new BoxError(`linux.cgroupsPath "${p}" is a systemd unit: box manages cgroups itself (give a path, and no --systemd-cgroup)`, 1);
  const parts = p.split("/").filter(Boolean);
  if (parts.length === 0 || parts.some((x) => x === "." || x === ".." || x.includes("\0"))) throw new BoxError(`linux.cgroupsPath "${p}" is not a cgroup path`, 1);
  return p;
}

export function dirIn(h: Hierarchy, path: string): string {
  return path.startsWith("/") ? join(h.mount, path) : join(h.mount, h.own, path);
}

/** Makes the directories that are missing, top first; returns those it made. */
function makeDirs(base: string, dir: string, made: string[]): void {
  const rel = dir.slice(base.length).split("/").filter(Boolean);
  let at = base;
  for (const part of rel) {
    at = join(at, part);
    if (existsSync(at)) continue;
    mkdirSync(at);
    made.push(at);
  }
}

/** cpuset.cpus and cpuset.mems start empty in a new v1 cpuset cgroup, which then takes no task:
 * each level made gets its parent's. */
function inheritCpuset(made: string[]): void {
  for (const dir of made) {
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const file = join(dir, f);
      if (!existsSync(file) || readFileSync(file, "utf8").trim() !== "") continue;
      writeFileSync(file, readFileSync(join(dir, "..", f), "utf8").trim() || "\n");
    }
  }
}

export interface ContainerCgroups {
  mode: CgroupMode;
  /** The container's directory in each hierarchy, in the order of hierarchies. */
  dirs: string[];
  /** Directories this create made (removed by delete, deepest first). */
  made: string[];
}

/** Controllers the v2 limits need, enabled down from the hierarchy's root (or box's own cgroup). */
function enableV2(base: string, dir: string, wanted: string[]): void {
  const rel = dir.slice(base.length).split("/").filter(Boolean);
  let at = base;
  for (const part of rel) {
    const available = readFileSync(join(at, "cgroup.controllers"), "utf8").trim().split(/\s+/);
    const enable = wanted.filter((c) => available.includes(c));
    if (enable.length > 0) {
      try {
        writeFileSync(join(at, "cgroup.subtree_control"), enable.map((c) => `+${c}`).join(" "));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new BoxError(`cannot enable the ${enable.join(", ")} controllers in ${at}: ${code === "EBUSY" ? "it holds processes (cgroup v2 allows controllers only between empty cgroups)" : code ?? String(err)}`, 1);
      }
    }
    at = join(at, part);
  }
}

export function createCgroups(host: HostCgroups, path: string, v2Controllers: string[]): ContainerCgroups {
  const made: string[] = [];
  const dirs: string[] = [];
  try {
    for (const h of host.hierarchies) {
      const dir = dirIn(h, path);
      const base = path.startsWith("/") ? h.mount : join(h.mount, h.own);
      const before = made.length;
      makeDirs(base, dir, made);
      if (host.mode === "v2") enableV2(base, dir, v2Controllers);
      if (h.controllers.includes("cpuset")) inheritCpuset(made.slice(before));
      dirs.push(dir);
    }
  } catch (err) {
    removeDirs(made);
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot make the container's cgroup: ${(err as NodeJS.ErrnoException).message}`, 1);
  }
  return { mode: host.mode, dirs, made };
}

/** Removes the directories create made (listed parents first), children first: a parent still
 * holding another container's cgroup stays. */
export const removeDirs = (made: readonly string[], waitMs = 0): boolean => removeCgroup(made, waitMs, true);

/** Every process in the container's cgroup (and below it), by the first hierarchy that has any. */
export function cgroupPids(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    try {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (/^\d+$/.test(line)) pids.add(Number(line));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    } catch {
      /* gone */
    }
  };
  for (const d of dirs) walk(d);
  return [...pids];
}
