/**
 * Taking a container apart: what it holds on the host while it runs (cgroups, address, ports,
 * firewall table) is given back when it stops; removing it also takes its directory and name. Both
 * work from whatever is left: a record written half-way, a damaged one, a killed box's leftovers.
 */
import { rmSync } from "node:fs";
import { detect } from "../cgroup/detect";
import { cgroupDirsFor, DEFAULT_CGROUP_PARENT, removeCgroup } from "../cgroup/setup";
import { releaseNetwork } from "../net/setup";
import { activePath, attachPath, containerDir, lockPath, namesOf, pidPath, releaseName, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { releaseRange } from "../userns/auto";
import { removeTree } from "../userns/remove";

/**
 * Where a container's cgroups are, or would be: what its record lists, and what its cgroup parent
 * gives (box may have been killed after making them and before recording them; a damaged record
 * says nothing, and then the default parents are looked at).
 */
function cgroupsOf(id: string, r: ContainerRecord | undefined): string[] {
  const host = detect();
  const parents = r?.request ? [r.request.cgroupParent] : [DEFAULT_CGROUP_PARENT, process.env.BOX_CGROUP_PARENT || DEFAULT_CGROUP_PARENT];
  return [...new Set([...(r?.cgroups ?? []), ...parents.flatMap((p) => cgroupDirsFor(host, id, p))])];
}

/** Gives back what a stopped container held on the host. Returns false when a cgroup is still busy. */
export function releaseResources(layout: Layout, id: string, r: ContainerRecord | undefined): boolean {
  const cgroupsGone = removeCgroup(cgroupsOf(id, r), 2000);
  releaseNetwork(layout, id, r?.ports);
  rmSync(pidPath(layout, id), { force: true });
  rmSync(attachPath(layout, id), { force: true });
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
    // --userns=auto: its range of ids, given back while its directory still says it is held.
    if (!layout.userns) releaseRange(layout.lib, id);
    // Rootless, its files may belong to the user's subordinate ids: removed as root of its namespace.
    removeTree(containerDir(layout, id), layout.userns);
    rmSync(activePath(layout, id), { force: true });
    return true;
  } finally {
    lock?.release();
  }
}
