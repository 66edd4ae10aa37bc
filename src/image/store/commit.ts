/** Images appearing and going: commit, names, digests, and pins of work in progress. */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../../errors";
import { listDir } from "../../store/dirs";
import { onInterrupt } from "../../store/interrupt";
import { processStart } from "../../store/process";
import { scratchPath, writeBlob } from "./blobs";
import { readLayer, type LayerRecord } from "./layers";
import { recordPath, type StorePaths } from "./paths";
import { namesOf, readRecord, withStoreLock, writeRecord, type ImageRecord, type ManifestRef } from "./records";
import { deleteRef, listRefs, readRef, writeRef } from "./refs";
import { splitTag } from "../reference";
import { writeFileWhole } from "./write";

export interface CommitArgs {
  config: Buffer;
  layers: LayerRecord[];
  manifest?: ManifestRef & { bytes?: Uint8Array };
  repoDigest?: string;
  source: string;
  /** Tag names ("docker.io/library/alpine:3.20") to point at it. */
  names: string[];
  legacyDigest?: string;
}

/**
 * Makes an image appear: config blob, record (merged with an existing record of the same ID),
 * then its names, under the store lock. Every layer must still be present (a collection may have
 * run meanwhile; a pull pins its layers so that does not happen to it).
 */
export async function commitImage(p: StorePaths, args: CommitArgs): Promise<string> {
  return withStoreLock(p, async () => {
    for (const l of args.layers) {
      if (!readLayer(p, l.diffID)) throw new BoxError(`layer ${l.diffID} vanished from the store while the image was being made (a concurrent box rmi?): try again`);
    }
    const id = writeBlob(p, args.config);
    if (args.manifest?.bytes) writeBlob(p, args.manifest.bytes);
    const old = readRecord(p, id);
    const repoDigests = [...new Set([...(old?.repoDigests ?? []), ...(args.repoDigest ? [args.repoDigest] : [])])];
    const rec: ImageRecord = {
      id,
      layers: args.layers.map((l) => l.diffID),
      ...(args.manifest ? { manifest: { digest: args.manifest.digest, mediaType: args.manifest.mediaType, size: args.manifest.size } } : old?.manifest ? { manifest: old.manifest } : {}),
      repoDigests,
      source: old?.source ?? args.source,
      stored: old?.stored ?? new Date().toISOString(),
      ...(args.legacyDigest ?? old?.legacyDigest ? { legacyDigest: args.legacyDigest ?? old?.legacyDigest } : {}),
    };
    writeRecord(p, rec);
    for (const name of args.names) writeRef(p, name, id);
    return id;
  });
}

/** Points a name at an image (box tag). */
export async function tagImage(p: StorePaths, name: string, id: string): Promise<void> {
  await withStoreLock(p, async () => writeRef(p, name, id));
}

/**
 * Removes a name. When it was the last tag of its repository on that image, the image's digest
 * references of that repository go too (as docker does). Returns whether the name existed.
 */
export async function untag(p: StorePaths, name: string): Promise<boolean> {
  return withStoreLock(p, async () => {
    const id = readRef(p, name);
    if (!deleteRef(p, name) || !id) return false;
    const repo = splitTag(name).repository;
    const rec = readRecord(p, id);
    if (rec && !listRefs(p).some((r) => r.id === id && splitTag(r.name).repository === repo)) {
      const kept = rec.repoDigests.filter((d) => !d.startsWith(repo + "@"));
      if (kept.length !== rec.repoDigests.length) writeRecord(p, { ...rec, repoDigests: kept });
    }
    return true;
  });
}

/** Removes a digest reference (rmi alpine@sha256:...). */
export async function dropRepoDigest(p: StorePaths, id: string, digestRef: string): Promise<boolean> {
  return withStoreLock(p, async () => {
    const rec = readRecord(p, id);
    if (!rec || !rec.repoDigests.includes(digestRef)) return false;
    writeRecord(p, { ...rec, repoDigests: rec.repoDigests.filter((d) => d !== digestRef) });
    return true;
  });
}

/** Forgets an image whatever names it: its names, digests and record (data goes with a collection). */
export async function forgetImage(p: StorePaths, id: string): Promise<string[]> {
  return withStoreLock(p, async () => {
    const names = namesOf(p, id);
    for (const n of names) deleteRef(p, n);
    rmSync(recordPath(p, id), { force: true });
    return names;
  });
}

// ---- Pins: what a pull or load in progress is about to use ----

/**
 * Records, under the store lock, the layers and blobs a pull or load is about to reuse or make,
 * so that a collection running meanwhile keeps them. Returns the function that drops the pin.
 * A pin of a process that is gone no longer counts (and is collected with its scratch).
 */
export async function pin(p: StorePaths, digests: string[]): Promise<() => void> {
  const file = scratchPath(p, "pin");
  const drop = () => rmSync(file, { force: true });
  const undo = onInterrupt(drop);
  await withStoreLock(p, async () => writeFileWhole(file, JSON.stringify(digests), 0o600));
  return () => {
    drop();
    undo();
  };
}

export function pinned(p: StorePaths): Set<string> {
  const out = new Set<string>();
  for (const f of listDir(p.tmp)) {
    const m = /^pin-(\d+)-/.exec(f);
    if (!m || processStart(Number(m[1])) === undefined) continue;
    try {
      const list: unknown = JSON.parse(readFileSync(join(p.tmp, f), "utf8"));
      if (Array.isArray(list)) for (const d of list) if (typeof d === "string") out.add(d);
    } catch {
      /* being written, or gone */
    }
  }
  return out;
}

