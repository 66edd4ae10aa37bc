/**
 * The image store: blobs by digest, layers by diffID, images as a config plus an ordered list of
 * layers, names pointing at image IDs (see ./paths.ts for the layout on disk).
 *
 * An image appears by writing its record last, once its config blob and every layer are in place;
 * a name is written after its image. Whatever a killed box leaves (scratch in tmp/, a layer link
 * with no layer, a layer nobody names) is recognised and collected. Every file read back is
 * checked: a damaged record, config or name is skipped and reported, never a crash.
 *
 * Concurrency: a lock per layer (two pulls sharing a layer unpack it once), and one store lock
 * held briefly to commit an image, to pin the layers a pull is about to reuse, and by garbage
 * collection, so a collection never removes a layer that a pull in progress counts on.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../../errors";
import { removeHostTree } from "../../fs/dir";
import { writeFileAtomic, writeFileWhole } from "./write";
import { isScratch, listDir } from "../../store/dirs";
import type { Layout } from "../../store/layout";
import { onInterrupt } from "../../store/interrupt";
import { withLock } from "../../store/lock";
import { processStart } from "../../store/process";
import { parseConfig, type ImageConfig } from "../config";
import { hexOf, isDigest } from "../digest";
import { familiar, parseReference, repoName, splitTag, tagName } from "../reference";
import { readBlob, scratchPath, writeBlob } from "./blobs";
import { listLayerDirs, readLayer, type LayerRecord } from "./layers";
import { blobPath, layerPath, recordPath, storePaths, type StorePaths } from "./paths";
import { deleteRef, listRefs, readRef, writeRef, type Ref } from "./refs";

export type { StorePaths } from "./paths";
export type { LayerRecord } from "./layers";

export interface ManifestRef {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  /** The image ID: the digest of its config (stored as the blob of that digest). */
  id: string;
  /** Its layers' diffIDs, bottom first (as the config lists them). */
  layers: string[];
  /** The manifest it was pulled or loaded with, when there was one (a blob too). */
  manifest?: ManifestRef;
  /** "docker.io/library/alpine@sha256:...": where it can be pulled again, exactly. */
  repoDigests: string[];
  /** Where it came from, for a person: "pull docker.io/library/alpine:3.20", "import FILE". */
  source: string;
  /** When it came into this store. */
  stored: string;
  /** The digest an older box stored it under (containers made then name the image by it). */
  legacyDigest?: string;
}

/** An image with everything it needs present and valid. */
export interface StoredImage {
  record: ImageRecord;
  config: ImageConfig;
  /** Bottom first. */
  layers: LayerRecord[];
}

/** The store of a layout, its directories made, an older box's store moved over (once). */
export async function openStore(layout: Layout): Promise<StorePaths> {
  const p = storePaths(layout);
  // db is made last: when it is there, so is the rest.
  if (!existsSync(p.db)) {
    for (const dir of [p.lib, p.images, p.blobs, p.layers, p.links, p.refs, p.tmp, p.locks, p.db]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  if (hasLegacy(p)) {
    const { migrate } = await import("./migrate");
    await withStoreLock(p, async () => migrate(p));
  }
  return p;
}

/** Whether an older box's store is there to move over: images/<64 hex>, or refs/<name>:<tag>. */
export function hasLegacy(p: StorePaths): boolean {
  return listDir(p.images).some((f) => /^[0-9a-f]{64}$/.test(f)) || listDir(p.refs).some((f) => !isScratch(f) && !f.includes("%2F") && f.includes(":"));
}

/** The store of a layout, for reading only: nothing is made (a fresh machine lists no images). */
export function peekStore(layout: Layout): StorePaths {
  return storePaths(layout);
}

export function withStoreLock<T>(p: StorePaths, fn: () => Promise<T>): Promise<T> {
  return withLock(join(p.locks, "store.lock"), fn);
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** An image's record, validated; undefined when missing or damaged. */
export function readRecord(p: StorePaths, id: string): ImageRecord | undefined {
  if (!isDigest(id)) return undefined;
  let doc: Record<string, unknown> | undefined;
  try {
    doc = obj(JSON.parse(readFileSync(recordPath(p, id), "utf8")));
  } catch {
    return undefined;
  }
  if (!doc || doc.id !== id || !Array.isArray(doc.layers) || !doc.layers.every(isDigest)) return undefined;
  if (!Array.isArray(doc.repoDigests) || !doc.repoDigests.every((d) => typeof d === "string")) return undefined;
  if (typeof doc.source !== "string" || typeof doc.stored !== "string") return undefined;
  let manifest: ManifestRef | undefined;
  if (doc.manifest !== undefined) {
    const m = obj(doc.manifest);
    if (!m || !isDigest(m.digest) || typeof m.mediaType !== "string" || !Number.isSafeInteger(m.size)) return undefined;
    manifest = { digest: m.digest, mediaType: m.mediaType, size: m.size as number };
  }
  return {
    id,
    layers: doc.layers as string[],
    ...(manifest ? { manifest } : {}),
    repoDigests: doc.repoDigests as string[],
    source: doc.source,
    stored: doc.stored,
    ...(typeof doc.legacyDigest === "string" && /^[0-9a-f]{64}$/.test(doc.legacyDigest) ? { legacyDigest: doc.legacyDigest } : {}),
  };
}

function writeRecord(p: StorePaths, rec: ImageRecord): void {
  writeFileAtomic(recordPath(p, rec.id), JSON.stringify(rec, null, 1) + "\n");
}

/** The IDs of every image record present (valid or not). */
export function listImageIds(p: StorePaths): string[] {
  return listDir(p.db)
    .filter((f) => !isScratch(f) && /^[0-9a-f]{64}\.json$/.test(f))
    .map((f) => `sha256:${f.slice(0, 64)}`);
}

/** The config of an image, checked against its ID; undefined when missing or damaged. */
export function readImageConfig(p: StorePaths, id: string): ImageConfig | undefined {
  const bytes = readBlob(p, id, 8 << 20);
  if (!bytes) return undefined;
  try {
    return parseConfig(bytes, `the config of image ${id}`);
  } catch {
    return undefined;
  }
}

/** Why an image cannot be used, or undefined when it is complete. */
export function imageProblem(p: StorePaths, id: string): string | undefined {
  const rec = readRecord(p, id);
  if (!rec) return "its record is missing or damaged";
  const config = readImageConfig(p, id);
  if (!config) return "its config is missing or damaged";
  if (config.rootfs.diff_ids.join() !== rec.layers.join()) return "its record and its config list different layers";
  for (const l of rec.layers) if (!readLayer(p, l)) return `its layer ${l} is missing or damaged`;
  return undefined;
}

/** The image with that ID, complete; undefined when anything of it is missing or damaged. */
export function loadImage(p: StorePaths, id: string): StoredImage | undefined {
  const record = readRecord(p, id);
  const config = record && readImageConfig(p, id);
  if (!record || !config || config.rootfs.diff_ids.join() !== record.layers.join()) return undefined;
  const layers: LayerRecord[] = [];
  for (const l of record.layers) {
    const rec = readLayer(p, l);
    if (!rec) return undefined;
    layers.push(rec);
  }
  return { record, config, layers };
}

/** The names pointing at an image. */
export function namesOf(p: StorePaths, id: string, refs: Ref[] = listRefs(p)): string[] {
  return refs.filter((r) => r.id === id).map((r) => r.name);
}

/** Bytes of file data of an image (the sum of its layers'). */
export function imageSize(img: StoredImage): number {
  return img.layers.reduce((n, l) => n + l.size, 0);
}

export interface Found {
  image: StoredImage;
  /** The name it was found by, when a name. */
  name?: string;
}

/**
 * An image by what a person types: a name in any normalised form (alpine, alpine:3.20,
 * docker.io/library/alpine:3.20), a name with a digest (alpine@sha256:...), a full ID
 * ("sha256:<hex>") or a prefix of its hex of at least minPrefix digits. An ambiguous prefix is
 * an error naming the candidates; a damaged image is an error saying what is wrong.
 */
export function findImage(p: StorePaths, word: string, minPrefix = 4): Found | undefined {
  const id = findImageId(p, word, minPrefix);
  if (!id) return undefined;
  const image = loadImage(p, id.id);
  if (!image) throw new BoxError(`the image ${word} is damaged (${imageProblem(p, id.id) ?? "unreadable"}): remove it with box rmi ${word}`);
  return { image, ...(id.name ? { name: id.name } : {}) };
}

export function findImageId(p: StorePaths, word: string, minPrefix = 4): { id: string; name?: string } | undefined {
  const ref = parseReference(word);
  if (ref && !ref.digest) {
    const name = tagName(ref);
    const id = readRef(p, name);
    if (id) return { id, name };
  }
  if (ref?.digest) {
    const want = `${repoName(ref)}@${ref.digest}`;
    for (const id of listImageIds(p)) {
      const rec = readRecord(p, id);
      if (rec?.repoDigests.includes(want)) return { id };
    }
  }
  const hex = word.startsWith("sha256:") ? word.slice(7) : word;
  if (/^[0-9a-f]+$/.test(hex) && (hex.length >= minPrefix || word.startsWith("sha256:"))) {
    const all = listImageIds(p).filter((id) => hexOf(id).startsWith(hex));
    if (all.length > 1) throw new BoxError(`the image ID prefix "${word}" is ambiguous: it matches ${all.map((i) => hexOf(i).slice(0, 12)).join(", ")}`);
    if (all.length === 1) return { id: all[0]! };
  }
  return undefined;
}

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

function pinned(p: StorePaths): Set<string> {
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

// ---- Garbage collection ----

export interface Collected {
  images: string[];
  layers: string[];
  blobs: number;
}

/**
 * Removes what nothing needs: image records with no name, no digest reference and not in `keep`
 * (the images containers use, given by the caller), layers no remaining image lists, blobs no
 * remaining image or layer refers to, and links in l/ that lead nowhere. A layer is renamed into
 * tmp/ before it is removed, so a run can never start on a half-removed layer. Pinned layers and
 * blobs (a pull in progress) stay.
 */
export async function collectGarbage(p: StorePaths, keep: Iterable<string> = []): Promise<Collected> {
  return withStoreLock(p, async () => {
    const out: Collected = { images: [], layers: [], blobs: 0 };
    const keepIds = new Set(keep);
    const refs = listRefs(p);
    const named = new Set(refs.map((r) => r.id));
    const pins = pinned(p);
    const liveLayers = new Set<string>();
    const liveBlobs = new Set<string>();
    for (const id of listImageIds(p)) {
      const rec = readRecord(p, id);
      const needed = named.has(id) || keepIds.has(id) || (rec?.legacyDigest !== undefined && keepIds.has(rec.legacyDigest)) || (rec?.repoDigests.length ?? 0) > 0;
      if (!needed) {
        rmSync(recordPath(p, id), { force: true });
        out.images.push(id);
        continue;
      }
      if (!rec) continue; // damaged but named: left for box rmi to remove by name
      liveBlobs.add(id);
      if (rec.manifest) liveBlobs.add(rec.manifest.digest);
      for (const l of rec.layers) liveLayers.add(l);
    }
    for (const d of pins) {
      liveLayers.add(d);
      liveBlobs.add(d);
    }
    const shorts = new Set<string>();
    for (const diffID of listLayerDirs(p)) {
      const rec = readLayer(p, diffID);
      // A layer whose archive is pinned is one a pull or import is making an image of right now.
      if (liveLayers.has(diffID) || (rec?.blob && pins.has(rec.blob.digest))) {
        if (rec) {
          shorts.add(rec.short);
          if (rec.blob) liveBlobs.add(rec.blob.digest);
        }
        continue;
      }
      // Renamed away first: a run that looks it up finds it whole or not at all.
      const trash = scratchPath(p, "remove");
      try {
        renameSync(layerPath(p, diffID), trash);
      } catch {
        continue;
      }
      removeHostTree(trash);
      out.layers.push(diffID);
    }
    for (const f of listDir(p.blobs)) {
      if (!/^[0-9a-f]{64}$/.test(f) || liveBlobs.has(`sha256:${f}`)) continue;
      rmSync(blobPath(p, `sha256:${f}`), { force: true });
      out.blobs++;
    }
    // Scratch of atomic writes whose writer died (NAME.tmp-XXXX), once old enough to be nobody's.
    for (const dir of [p.refs, p.db]) {
      for (const f of listDir(dir)) {
        if (!f.includes(".tmp-")) continue;
        const st = statSync(join(dir, f), { throwIfNoEntry: false });
        if (st && Date.now() - st.mtimeMs > 10 * 60_000) rmSync(join(dir, f), { force: true });
      }
    }
    for (const f of listDir(p.links)) {
      if (shorts.has(f)) continue;
      try {
        unlinkSync(join(p.links, f));
      } catch {
        /* gone */
      }
    }
    return out;
  });
}

// ---- What a killed box leaves ----

/** Removes scratch (unpacks, downloads, imports, removals, pins) whose box process is gone. */
export function collectStaleScratch(layout: Layout): void {
  for (const entry of listDir(layout.tmp)) {
    const pid = Number(/^(?:unpack|download|import|remove|blob|layer|load|pin)-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && processStart(pid) === undefined) removeHostTree(join(layout.tmp, entry));
  }
}

// ---- What src/commands/run.ts asks today ----

/** Whether the store has an image whose familiar repository name is `name` (any tag). */
export function isNamed(layout: Layout, name: string): boolean {
  const p = storePaths(layout);
  const want = parseReference(name);
  if (!want) return false;
  const repo = repoName(want);
  return listRefs(p).some((r) => splitTag(r.name).repository === repo);
}

/**
 * What src/container/start.ts asks today: the overlay lowerdir option of an image by the ID
 * obtainForRun gave (its hex, or an older box's digest of it): its layers' short links, top
 * first, joined by ':'. One layer is one directory; an image of several layers needs the core to
 * take RunImage.layers from src/image/run.ts's imageForRun instead (a joined list is no path).
 * An image that is gone gives a path that does not exist.
 */
export function imageRootfs(layout: Layout, imageId: string): string {
  const p = storePaths(layout);
  const hex = imageId.startsWith("sha256:") ? imageId.slice(7) : imageId;
  let image = /^[0-9a-f]{64}$/.test(hex) ? loadImage(p, `sha256:${hex}`) : undefined;
  if (!image) {
    for (const id of listImageIds(p)) {
      if (readRecord(p, id)?.legacyDigest === hex) image = loadImage(p, id);
      if (image) break;
    }
  }
  if (!image) return join(p.links, `missing-${hex.slice(0, 12)}`);
  return image.layers.map((l) => join(p.links, l.short)).reverse().join(":");
}

/** Tag names pointing at the image, in docker's familiar form ("alpine:3.20"). */
export function familiarNames(p: StorePaths, id: string, refs?: Ref[]): string[] {
  return namesOf(p, id, refs).map(familiar);
}
