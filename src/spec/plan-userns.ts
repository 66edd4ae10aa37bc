/**
 * The plan's records for a container's user namespace, its time namespace and its user-mode
 * network (helper/plan_userns.c reads them, helper/userns.c and nettool.c carry them out).
 */
import type { IdMapping, IdRange } from "../userns/ids";
import type { PlanRecord } from "./plan";
import type { Spec } from "./types";

function triples(ranges: readonly IdRange[]): string[] {
  return ranges.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)]);
}

/**
 * A namespace's ids: through newuidmap/newgidmap when it maps subordinate ids, else written by the
 * helper (root; or a user mapping its own ids alone, which the kernel allows only once setgroups
 * is denied).
 */
export function idMapRecords(m: Pick<IdMapping, "uid" | "gid" | "tools" | "single">): PlanRecord[] {
  const r: PlanRecord[] = [["uid_map", ...triples(m.uid)], ["gid_map", ...triples(m.gid)]];
  if (m.tools) r.push(["map_exec", "uid", m.tools.uid], ["map_exec", "gid", m.tools.gid]);
  else if (m.single) r.push(["setgroups", "deny"]);
  return r;
}

/** The OCI spec's mappings (containerID, hostID, size) as ranges. */
export function rangesOf(maps: NonNullable<Spec["linux"]["uidMappings"]>): IdRange[] {
  return maps.map((m) => ({ inside: m.containerID, outside: m.hostID, count: m.size }));
}

/** How long pasta or slirp4netns may take to say the container's network is ready. */
export const NET_TOOL_READY_MS = 10_000;

export function usernsRecords(spec: Spec): PlanRecord[] {
  const r: PlanRecord[] = [];
  const u = spec.box.userns;
  if (u && spec.linux.uidMappings && spec.linux.gidMappings) {
    r.push(...idMapRecords({ uid: rangesOf(spec.linux.uidMappings), gid: rangesOf(spec.linux.gidMappings), tools: u.tools, single: u.single }));
    if (u.mounter) r.push(["mounter", u.mounter]);
    for (const dir of u.idmap ?? []) r.push(["idmap", dir]);
    if (u.fuse) r.push(["fuse_mount", u.fuse.target, u.fuse.fstype, u.fuse.options, ...u.fuse.argv] as PlanRecord);
    if (u.cleanupInside) r.push(["cleanup_inside"]);
    if (u.reexec) r.push(["reexec"]);
  }
  if (spec.box.clocks === "from-start") r.push(["clock_from_start"]);
  const net = spec.box.netTool;
  if (net) {
    r.push(["net_tool", String(net.readyMs), ...net.argv] as PlanRecord);
    for (const req of net.requests ?? []) r.push(["net_api", net.apiSocket!, req]);
  }
  return r;
}

/** What box exec joins besides the usual namespaces, and whether its user may set groups. */
export function execJoinRecords(spec: Spec): PlanRecord[] {
  const extra = (["user", "time"] as const).filter((ns) => spec.linux.namespaces.includes(ns));
  return extra.length > 0 ? [["join_ns", ...extra]] : [];
}
