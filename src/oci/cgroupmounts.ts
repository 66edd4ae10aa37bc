/**
 * A mount of type cgroup (or cgroup2) in config.json: the container's own cgroups at that place,
 * as runc gives them. In a cgroup namespace of its own the container mounts the cgroup filesystems
 * themselves, which show its cgroup as their root; without one, its directories of the host's
 * hierarchies are bound there (so it sees its own cgroup, not the host's tree). On v1 they sit in a
 * small tmpfs, one directory per hierarchy; the options (ro, nosuid, ...) apply to each.
 */
import { basename } from "node:path";
import type { PlanRecord } from "../spec/plan";
import type { OciMount } from "./config";
import { MS, mkdirs, mountOptions } from "./mounts";

export interface CgroupMountInput {
  mode: "v1" | "hybrid" | "v2";
  /** The container's directory in each hierarchy, and the hierarchy's mount and controllers. */
  joined: Array<{ dir: string; mount: string; controllers: string[] }>;
}

export function cgroupMountRecords(m: OciMount, at: string, cg: CgroupMountInput, ownNamespace: boolean, seen: Set<string>): PlanRecord[] {
  const o = mountOptions(m.options ?? [], at);
  const flags = o.flags & ~MS.remount;
  const dest = m.destination;
  const r: PlanRecord[] = [...mkdirs(dest, seen)];
  const bind = (source: string, target: string) => {
    r.push(["mount", source, target, "", String(MS.bind | MS.rec), ""]);
    r.push(["mount", "", target, "", String(MS.bind | MS.remount | flags), ""]);
  };
  if (cg.mode === "v2") {
    if (ownNamespace) r.push(["mount", "cgroup2", dest, "cgroup2", String(flags), ""]);
    else bind(cg.joined[0]!.dir, dest);
    return r;
  }
  r.push(["mount", "tmpfs", dest, "tmpfs", String((flags & ~MS.rdonly) | MS.nosuid | MS.nodev | MS.noexec), "mode=755,size=64k"]);
  for (const h of cg.joined) {
    const target = `${dest}/${basename(h.mount)}`;
    r.push(["mkdir", target, "755"]);
    if (ownNamespace) r.push(["mount", "cgroup", target, "cgroup", String(flags), h.controllers.join(",")]);
    else bind(h.dir, target);
  }
  if (flags & MS.rdonly) r.push(["mount", "", dest, "", String(MS.remount | flags | MS.nosuid | MS.nodev | MS.noexec), "mode=755,size=64k"]);
  return r;
}
