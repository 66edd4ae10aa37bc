/**
 * --userns=auto (root): a container gets ids of its own, 65536 of them, so its root is an
 * unprivileged id of the host's that no other container and no user has.
 *
 * The pool: the ranges of a "box" line in /etc/subuid and /etc/subgid (an admin's choice, as
 * podman's "containers" user), else a default block of 8192 ranges from 2^31 (2147483648 up to
 * 2684354560), which no /etc/subuid range may overlap (useradd gives ranges below 600100000 by
 * default: SUB_UID_MAX in /etc/login.defs). A range is claimed by the container for its whole life
 * (created, running, stopped) and given back when it is removed: one claim file per range, made by
 * link() so two containers never get the same one, in one directory for the whole host
 * (/var/lib/box/userns, whatever the store: two stores never hand out the same ids). A claim whose
 * container is gone is taken back (src/store/claim.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { claim, listClaims, release } from "../store/claim";
import type { IdMapping, SubRange } from "./ids";
import { subordinateRanges } from "./ids";

export const RANGE = 65536;
export const DEFAULT_BLOCK: SubRange = { start: 2 ** 31, count: 8192 * RANGE };
export const REGISTRY = "/var/lib/box/userns";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Every range of RANGE ids the pool has, in order: uid and gid starts side by side. */
export function poolSlots(subuid: string, subgid: string): Array<{ uid: number; gid: number }> {
  const uids = subordinateRanges(subuid, "box", -1);
  const gids = subordinateRanges(subgid, "box", -1);
  if (uids.length === 0 && gids.length === 0) {
    const end = DEFAULT_BLOCK.start + DEFAULT_BLOCK.count;
    for (const text of [subuid, subgid]) {
      for (const line of text.split("\n")) {
        const m = /^[^:\s]+:(\d+):(\d+)/.exec(line);
        if (m && Number(m[1]) < end && Number(m[1]) + Number(m[2]) > DEFAULT_BLOCK.start) {
          throw new BoxError(`--userns=auto's default block (${DEFAULT_BLOCK.start}-${end - 1}) overlaps a range of /etc/subuid or /etc/subgid ("${line}"): give box ranges of its own with a line box:START:COUNT in both`);
        }
      }
    }
    uids.push(DEFAULT_BLOCK);
    gids.push(DEFAULT_BLOCK);
  }
  const split = (ranges: SubRange[]) => ranges.flatMap((r) => Array.from({ length: Math.floor(r.count / RANGE) }, (_, i) => r.start + i * RANGE));
  const u = split(uids), g = split(gids);
  if (u.length === 0 || g.length === 0) throw new BoxError(`the box lines of /etc/subuid and /etc/subgid must each give at least ${RANGE} ids for --userns=auto`);
  return u.slice(0, g.length).map((uid, i) => ({ uid, gid: g[i]! }));
}

/** Who holds a range: the store and the container. */
function holder(lib: string, id: string): string {
  return `${id} ${encodeURIComponent(lib)}`;
}

function alive(h: string): boolean {
  const [id, lib] = h.split(" ");
  return !!id && !!lib && existsSync(join(decodeURIComponent(lib), "containers", id));
}

export function mappingOf(slot: { uid: number; gid: number }): IdMapping {
  return { uid: [{ inside: 0, outside: slot.uid, count: RANGE }], gid: [{ inside: 0, outside: slot.gid, count: RANGE }], single: false };
}

/** The range this container holds, or a free one, claimed for it. */
export function claimRange(lib: string, id: string, registry = REGISTRY): IdMapping {
  const slots = poolSlots(read("/etc/subuid"), read("/etc/subgid"));
  const mine = holder(lib, id);
  const held = listClaims(registry).find((c) => c.holder === mine);
  const at = held ? slots.find((s) => String(s.uid) === held.name) : undefined;
  if (at) return mappingOf(at);
  for (const slot of slots) {
    if (claim(join(registry, String(slot.uid)), mine, alive).ok) return mappingOf(slot);
  }
  throw new BoxError(`every one of the ${slots.length} ranges --userns=auto may hand out is taken: remove containers, or give box more ids (box:START:COUNT in /etc/subuid and /etc/subgid)`);
}

/** Gives the container's range back (box rm, and the clean-up of an ephemeral one). */
export function releaseRange(lib: string, id: string, registry = REGISTRY): void {
  const mine = holder(lib, id);
  for (const c of listClaims(registry)) if (c.holder === mine) release(join(registry, c.name), mine);
}

/** The claim file of the container's range, if it holds one (removed by the helper's clean-up). */
export function rangeClaimPath(lib: string, id: string, registry = REGISTRY): string | undefined {
  const c = listClaims(registry).find((x) => x.holder === holder(lib, id));
  return c ? join(registry, c.name) : undefined;
}
