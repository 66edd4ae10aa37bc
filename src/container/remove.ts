/**
 * Taking a container apart: what it holds on the host while it runs (cgroups, address, ports,
 * firewall table) is given back when it stops; removing it also takes its directory and name. Both
 * work from whatever is left: a record written half-way, a damaged one, a killed box's leftovers.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { detect } from "../cgroup/detect";
import { DEFAULT_CGROUP_PARENT, removeCgroup } from "../cgroup/setup";
import { releaseNetwork } from "../net/setup";
import { containerDir, lockPath, namesOf, pidPath, releaseName, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";

/** Where a container's cgroups would be, when its record cannot say (a damaged record). */
function likelyCgroups(id: string): string[] {
  const host = detect();
  const parents = [...new Set([DEFAULT_CGROUP_PARENT, process.env.BOX_CGROUP_PARENT || DEFAULT_CGROUP_PARENT])];
  const hierarchies = [...Object.values(host.v1), ...(host.unified ? [host.unified] : [])];
  return hierarchies.flatMap((h) => parents.map((p) => join(h.mount, p.startsWith("/") ? "" : h.own, p, id)));
}

/** Gives back what a stopped container held on the host. Returns false when a cgroup is still busy. */
export function releaseResources(layout: Layout, id: string, r: ContainerRecord | undefined): boolean {
  const cgroupsGone = removeCgroup(r ? r.cgroups : likelyCgroups(id), 2000);
  releaseNetwork(layout, id, r?.ports);
  rmSync(pidPath(layout, id), { force: true });
  return cgroupsGone;
}

/**
 * Removes everything of a container that does not run: cgroups first (while one cannot go yet, the
 * rest is kept for the next attempt), its names (before the directory, so nobody takes a name back
 * while its container still exists), then the directory. Holds the container's lock throughout, so
 * nothing starts it meanwhile. Returns false when it runs (or is being made), or a cgroup is busy.
 */
export function removeContainer(layout: Layout, id: string, r: ContainerRecord | undefined): boolean {
  const lock = Lock.try(lockPath(layout, id), false);
  const hasLockFile = Lock.held(lockPath(layout, id)) !== undefined;
  if (!lock && hasLockFile) return false;
  try {
    if (!releaseResources(layout, id, r)) return false;
    for (const name of new Set([...(r?.name ? [r.name] : []), ...namesOf(layout, id)])) releaseName(layout, name, id);
    rmSync(containerDir(layout, id), { recursive: true, force: true });
    return true;
  } finally {
    lock?.release();
  }
}
