/**
 * Whose ids a user namespace maps, decided here (the helper only writes or hands them to
 * newuidmap/newgidmap, helper/userns.c).
 *
 * Rootless (box run by any user): the container's root is the user; the container's ids 1..N are
 * the user's subordinate ids, the ranges an admin gave it in /etc/subuid and /etc/subgid (useradd
 * gives each new user 65536), written by newuidmap/newgidmap (Debian's uidmap), the only way a
 * user may map ids other than its own. Without ranges, or without those two programs, the user
 * alone is mapped, as root: no other id exists inside (said once, src/userns/notes.ts).
 *
 * The same mapping every time, so files unpacked into the store inside one namespace (image
 * layers) have the right owners in the next: container uid 0 is the user, uid 1000 is the
 * subordinate id start+999.
 */
import { existsSync, readFileSync } from "node:fs";

export interface IdRange {
  /** First id in the namespace. */
  inside: number;
  /** First id outside it (in box's own namespace, the host's). */
  outside: number;
  count: number;
}

export interface IdMapping {
  uid: IdRange[];
  gid: IdRange[];
  /** newuidmap and newgidmap, when the ranges need them (a user's subordinate ids). */
  tools?: { uid: string; gid: string };
  /** Only the user's own ids are mapped: setgroups must be denied, and no other id exists inside. */
  single: boolean;
  /** Why there is nothing more than the user's own ids (said once). */
  reason?: string;
}

/** Whether box runs as a user other than root: then every container has a user namespace. */
export function isRootless(): boolean {
  return process.getuid?.() !== 0;
}

export interface SubRange {
  start: number;
  count: number;
}

/** The ranges of /etc/subuid (or subgid) lines "name:start:count" (or "uid:start:count") for a user;
 * malformed lines are skipped, as newuidmap skips them. */
export function subordinateRanges(text: string, name: string | undefined, id: number): SubRange[] {
  const out: SubRange[] = [];
  for (const line of text.split("\n")) {
    const m = /^([^:\s]+):(\d{1,10}):(\d{1,10})\s*$/.exec(line);
    if (!m || (m[1] !== name && m[1] !== String(id))) continue;
    const start = Number(m[2]), count = Number(m[3]);
    if (count > 0 && start + count <= 0xffffffff) out.push({ start, count });
  }
  return out;
}

/** Container ids 1.. laid over the ranges in order, after 0 -> own id. */
export function layOut(own: number, ranges: readonly SubRange[]): IdRange[] {
  const out: IdRange[] = [{ inside: 0, outside: own, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    if (out.length >= 16) break;
    out.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return out;
}

const TOOL_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

export function findTool(name: string, dirs = TOOL_DIRS): string | undefined {
  return dirs.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export interface HostIds {
  uid: number;
  gid: number;
  name?: string;
  subuid: string;
  subgid: string;
  newuidmap?: string;
  newgidmap?: string;
}

/** The user's name, from /etc/passwd (newuidmap looks it up the same way); undefined without one. */
export function userName(uid: number, passwd = readText("/etc/passwd")): string | undefined {
  return passwd.split("\n").map((l) => l.split(":")).find((f) => f.length >= 7 && f[2] === String(uid))?.[0];
}

export function hostIds(): HostIds {
  const name = userName(process.getuid!());
  return {
    uid: process.getuid!(),
    gid: process.getgid!(),
    name,
    subuid: readText("/etc/subuid"),
    subgid: readText("/etc/subgid"),
    newuidmap: findTool("newuidmap"),
    newgidmap: findTool("newgidmap"),
  };
}

/** The mapping of a rootless user's containers (and of the namespace its image files are unpacked in). */
export function rootlessMapping(h: HostIds = hostIds()): IdMapping {
  const subuid = subordinateRanges(h.subuid, h.name, h.uid);
  const subgid = subordinateRanges(h.subgid, h.name, h.uid);
  const who = h.name ?? `uid ${h.uid}`;
  const own = (reason: string): IdMapping => ({
    uid: [{ inside: 0, outside: h.uid, count: 1 }],
    gid: [{ inside: 0, outside: h.gid, count: 1 }],
    single: true,
    reason,
  });
  if (subuid.length === 0 || subgid.length === 0) return own(`${who} has no subordinate ids (no line in /etc/subuid and /etc/subgid; useradd adds them, or usermod --add-subuids)`);
  if (!h.newuidmap || !h.newgidmap) return own("newuidmap and newgidmap are not installed (Debian's uidmap package)");
  return { uid: layOut(h.uid, subuid), gid: layOut(h.gid, subgid), tools: { uid: h.newuidmap, gid: h.newgidmap }, single: false };
}

/** The host id a container id maps to, or undefined when it is not mapped. */
export function outsideId(ranges: readonly IdRange[], inside: number): number | undefined {
  const r = ranges.find((x) => inside >= x.inside && inside < x.inside + x.count);
  return r ? r.outside + (inside - r.inside) : undefined;
}

/** How many ids the namespace has (1 + the subordinate ones). */
export function idCount(ranges: readonly IdRange[]): number {
  return ranges.reduce((n, r) => Math.max(n, r.inside + r.count), 0);
}
