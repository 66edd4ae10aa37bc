/** Image records, configs, and the complete images they make. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isScratch, listDir } from "../../store/dirs";
import { withLock } from "../../store/lock";
import { parseConfig, type ImageConfig } from "../config";
import { isDigest } from "../digest";
import { readBlob } from "./blobs";
import { readLayer, type LayerRecord } from "./layers";
import { recordPath, type StorePaths } from "./paths";
import { listRefs, type Ref } from "./refs";
import { writeFileAtomic } from "./write";

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

export function writeRecord(p: StorePaths, rec: ImageRecord): void {
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

