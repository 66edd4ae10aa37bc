/**
 * Volumes: directories box keeps for containers, outliving them.
 *   <lib>/volumes/<name>/_data         what a container mounts
 *   <lib>/volumes/<name>/volume.json   what box knows of it: name, when made, labels, anonymous
 *   <lib>/locks/volume-<name>.lock     held while one is made, filled on first use, or removed
 * A volume appears by one rename of a complete scratch directory (<lib>/tmp/volume-<pid>-...),
 * so it is never seen half made; it goes by one rename out of the way, then removal at leisure.
 * An anonymous volume (`-v /data`, or a VOLUME of the image) is named after its container and
 * target, so the same container finds the same volume each time it starts, with nothing stored.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { BoxError, describeSystemError } from "../errors";
import { removeHostTree } from "../fs/dir";
import { sha256 } from "../image/digest";
import { checkVolumeName, VOLUME_NAME } from "../spec/mounts";
import { writeFileAtomic } from "../store/atomic";
import { containerIds, readRecord } from "../store/containers";
import { isScratch, listDir } from "../store/dirs";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { bool, Invalid, obj, parseJson, pattern, type Check } from "../validate";
import { readSpec } from "../store/container-spec";

export interface VolumeRecord {
  name: string;
  /** RFC 3339, when it was made. */
  created: string;
  labels: Record<string, string>;
  /** Made for one container (-v /data, an image's VOLUME): `volume prune` takes it once unused. */
  anonymous: boolean;
}

export const volumesDir = (layout: Layout) => join(layout.lib, "volumes");
export const volumePath = (layout: Layout, name: string) => join(volumesDir(layout), name);
export const volumeData = (layout: Layout, name: string) => join(volumesDir(layout), name, "_data");
const lockFile = (layout: Layout, name: string) => join(layout.locks, `volume-${name}.lock`);

/** The name of a container's anonymous volume at target: the same every time it starts. */
export function anonymousName(containerId: string, target: string): string {
  return sha256(`${containerId}\0${target}`).slice("sha256:".length);
}

const labels: Check<Record<string, string>> = (v, at) => {
  if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")) throw new Invalid(`${at} is not a map of strings`);
  return v as Record<string, string>;
};

const checkVolume: Check<VolumeRecord> = obj<VolumeRecord>({
  name: pattern(VOLUME_NAME, "a volume name"),
  created: pattern(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "a time"),
  labels,
  anonymous: bool,
});

/** A volume whose directory is there but whose record cannot be used: named, so it can be removed. */
export class DamagedVolume extends BoxError {
  constructor(readonly volume: string, reason: string) {
    super(`volume ${volume} is damaged: ${join("volumes", volume, "volume.json")} ${reason.replace(/^(it )?/, "")}; box volume rm -f ${volume} removes it`);
  }
}

/** The record of a volume; undefined when there is no such volume, DamagedVolume when it is unusable. */
export function readVolume(layout: Layout, name: string): VolumeRecord | undefined {
  if (!VOLUME_NAME.test(name) || !existsSync(volumePath(layout, name))) return undefined;
  let text: string;
  try {
    text = readFileSync(join(volumePath(layout, name), "volume.json"), "utf8");
  } catch (err) {
    throw new DamagedVolume(name, (err as NodeJS.ErrnoException).code === "ENOENT" ? "is missing" : "cannot be read");
  }
  try {
    const r = parseJson(text, checkVolume);
    if (r.name !== name) throw new Invalid(`it belongs to another volume (${r.name.slice(0, 64)})`);
    if (!existsSync(volumeData(layout, name))) throw new Invalid("has no _data directory beside it");
    return r;
  } catch (err) {
    if (err instanceof Invalid) throw new DamagedVolume(name, err.message);
    throw err;
  }
}

export type ListedVolume = { name: string; record: VolumeRecord } | { name: string; damaged: DamagedVolume };

/** Every volume, by name. */
export function listVolumes(layout: Layout): ListedVolume[] {
  const out: ListedVolume[] = [];
  for (const name of listDir(volumesDir(layout)).sort()) {
    if (isScratch(name) || !VOLUME_NAME.test(name)) continue;
    try {
      const record = readVolume(layout, name);
      if (record) out.push({ name, record });
    } catch (err) {
      if (!(err instanceof DamagedVolume)) throw err;
      out.push({ name, damaged: err });
    }
  }
  return out;
}

/** The volume's lock if it can be had now (the collector, which must not wait). */
export function tryVolumeLock(layout: Layout, name: string): Lock | undefined {
  return existsSync(layout.locks) ? Lock.try(lockFile(layout, name)) : undefined;
}

/** Runs fn holding the volume's lock (made, filled and removed one at a time). */
export async function withVolumeLock<T>(layout: Layout, name: string, fn: () => T | Promise<T>): Promise<T> {
  mkdirSync(layout.locks, { recursive: true, mode: 0o700 });
  const lock = await Lock.take(lockFile(layout, name), `volume ${name}`);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/**
 * The volume of that name, made when missing (docker's `volume create` of an existing name, and
 * `-v NAME:/path`, use the one there). Call it holding the volume's lock.
 */
export function ensureVolume(layout: Layout, name: string, opts: { labels?: Record<string, string>; anonymous?: boolean } = {}): { record: VolumeRecord; made: boolean } {
  checkVolumeName(name);
  const have = readVolume(layout, name);
  if (have) return { record: have, made: false };
  const record: VolumeRecord = { name, created: new Date().toISOString().replace(/\.\d+Z$/, "Z"), labels: opts.labels ?? {}, anonymous: opts.anonymous ?? false };
  mkdirSync(volumesDir(layout), { recursive: true, mode: 0o701 });
  mkdirSync(layout.tmp, { recursive: true, mode: 0o700 });
  const scratch = mkdtempSync(join(layout.tmp, `volume-${process.pid}-`));
  try {
    mkdirSync(join(scratch, "_data"), { mode: 0o755 });
    writeFileAtomic(join(scratch, "volume.json"), JSON.stringify(record, null, 2) + "\n", 0o644);
    renameSync(scratch, volumePath(layout, name));
  } catch (err) {
    removeHostTree(scratch);
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot create volume ${name}: ${describeSystemError(err)}`);
  }
  return { record, made: true };
}

/** Removes a volume: renamed out of the way at once, then removed (never following a link inside). */
export function removeVolume(layout: Layout, name: string): void {
  const aside = join(layout.tmp, `remove-${process.pid}-volume-${name.slice(0, 64)}-${Date.now()}`);
  mkdirSync(layout.tmp, { recursive: true, mode: 0o700 });
  try {
    renameSync(volumePath(layout, name), aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new BoxError(`cannot remove volume ${name}: ${describeSystemError(err)}`);
  }
  removeHostTree(aside);
}

/**
 * The containers that use a volume (docker's "in use": any container, running or not): by name in
 * what was asked (-v NAME:/path, --mount source=NAME), by the anonymous names of its targets, or
 * by the volume's directory among the mounts of its last start (an image's VOLUME).
 */
export function volumeUsers(layout: Layout, name: string): string[] {
  const data = volumeData(layout, name);
  const out: string[] = [];
  for (const id of containerIds(layout)) {
    let r;
    try {
      r = readRecord(layout, id);
    } catch {
      continue; // a damaged record names nothing
    }
    const asked = (r.request?.mounts ?? []).some((m) => m.type === "volume" && (m.name ?? anonymousName(id, m.target)) === name);
    let mounted = false;
    try {
      mounted = !asked && (readSpec(layout, r)?.mounts ?? []).some((m) => m.source === data);
    } catch {
      continue; // a damaged spec names nothing either
    }
    if (asked || mounted) out.push(id);
  }
  return out;
}
