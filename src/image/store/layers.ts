/**
 * Layers: each unpacked once, by its diffID (the sha256 of its uncompressed tar), into
 * images/layers/<hex>/diff, and shared by every image that lists it. A layer is unpacked in a
 * scratch directory in tmp/ and appears by one rename once complete and checked; a lock per layer
 * makes two pulls of images sharing it do the work once. The diff directory is never written
 * afterwards: containers put their overlay's upper directory elsewhere.
 */
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { writeFileWhole } from "./write";
import { join } from "node:path";
import { BoxError } from "../../errors";
import { Dir, removeHostTree } from "../../fs/dir";
import { listDir } from "../../store/dirs";
import { onInterrupt } from "../../store/interrupt";
import { withLock } from "../../store/lock";
import type { Bytes } from "../archive";
import { hasher, hexOf, isDigest } from "../digest";
import type { TarEntry } from "../tar";
import { layerDiff, layerPath, type StorePaths } from "./paths";

export interface LayerBlob {
  digest: string;
  mediaType: string;
  size: number;
}

export interface LayerRecord {
  diffID: string;
  /** Bytes of file data in the layer (what docker counts as its size). */
  size: number;
  /** Bytes of the uncompressed tar (the stream the diffID is the digest of). */
  tarSize: number;
  /** The archive it was unpacked from, kept in blobs/ (the embedded Alpine's is inside box). */
  blob?: LayerBlob;
  /** Its link in images/l: <images>/l/<short> leads to the diff directory. */
  short: string;
  created: string;
  /** The newest modification time of its entries (seconds): when its content was made. */
  newest?: number;
  /** Moved over from an older box's store, whose archive was not kept: diffID is that store's
   * digest of the archive, not a true diffID, and the layer cannot be saved. */
  legacy?: boolean;
}

export const MEDIA = {
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  /** box's own name for an xz tarball given to box import (never written into a manifest). */
  boxXz: "application/x-box-layer-tar+xz",
} as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The layer's record, validated; undefined when the layer is missing, incomplete or damaged. */
export function readLayer(p: StorePaths, diffID: string): LayerRecord | undefined {
  if (!isDigest(diffID)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(join(layerPath(p, diffID), "layer.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (!isRecord(doc) || doc.diffID !== diffID || typeof doc.short !== "string" || !/^[A-Z2-7]{10}$/.test(doc.short)) return undefined;
  if (!Number.isSafeInteger(doc.size) || !Number.isSafeInteger(doc.tarSize) || typeof doc.created !== "string") return undefined;
  let blob: LayerBlob | undefined;
  if (doc.blob !== undefined) {
    const b = doc.blob;
    if (!isRecord(b) || !isDigest(b.digest) || typeof b.mediaType !== "string" || !Number.isSafeInteger(b.size)) return undefined;
    blob = { digest: b.digest, mediaType: b.mediaType, size: b.size as number };
  }
  return {
    diffID,
    size: doc.size as number,
    tarSize: doc.tarSize as number,
    blob,
    short: doc.short,
    created: doc.created,
    ...(Number.isSafeInteger(doc.newest) ? { newest: doc.newest as number } : {}),
    ...(doc.legacy === true ? { legacy: true } : {}),
  };
}

/** The layer made from the blob of that digest, if any. */
export function findLayerByBlob(p: StorePaths, blobDigest: string): LayerRecord | undefined {
  for (const diffID of listLayerDirs(p)) {
    const rec = readLayer(p, diffID);
    if (rec?.blob?.digest === blobDigest) return rec;
  }
  return undefined;
}

/** diffIDs of the layer directories present (complete or not). */
export function listLayerDirs(p: StorePaths): string[] {
  return listDir(p.layers).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Makes a new link images/l/<short> -> ../layers/<hex>/diff (exclusively) and returns short. */
export function makeShortLink(p: StorePaths, diffID: string): string {
  mkdirSync(p.links, { recursive: true, mode: 0o700 });
  for (;;) {
    const rand = crypto.getRandomValues(new Uint8Array(10));
    const short = Array.from(rand, (b) => BASE32[b & 31]).join("");
    try {
      symlinkSync(`../layers/${hexOf(diffID)}/diff`, join(p.links, short));
      return short;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** Whether images/l/<short> leads to this layer. */
export function shortLinkOk(p: StorePaths, rec: LayerRecord): boolean {
  try {
    return readlinkSync(join(p.links, rec.short)) === `../layers/${hexOf(rec.diffID)}/diff`;
  } catch {
    return false;
  }
}

export interface LayerSource {
  /** The layer archive, compressed (gzip, zstd, xz) or not. */
  bytes: Bytes;
  /** The blob it is (known once bytes has been read to its end). */
  blob?: () => LayerBlob | undefined;
}

export interface EnsureOptions {
  /** Names the layer in sentences and progress. */
  label: string;
  /** Looks again, under the layer's lock, for the layer made meanwhile (when its diffID is not known). */
  recheck?(): LayerRecord | undefined;
  /** Sees each entry before it is unpacked (box import refuses docker-save archives this way). */
  onEntry?(entry: TarEntry, path: Buffer): void;
}

/**
 * The layer with diffID `expected` (or, when not known beforehand, whatever the source holds),
 * unpacked once. `lockKey` (a digest) serialises concurrent work on the same layer.
 */
export async function ensureLayer(
  p: StorePaths,
  lockKey: string,
  expected: string | undefined,
  open: () => Promise<LayerSource>,
  opts: EnsureOptions,
): Promise<LayerRecord> {
  const have = expected && readLayer(p, expected);
  if (have) return have;
  return withLock(join(p.locks, `layer-${hexOf(lockKey)}.lock`), async () => {
    const again = expected ? readLayer(p, expected) : opts.recheck?.();
    if (again) return again;
    const scratch = mkdtempSync(join(p.tmp, `layer-${process.pid}-`));
    const remove = async (path: string) => (p.userns ? (await import("../../userns/remove")).removeTree(path, p.userns) : removeHostTree(path));
    const undo = onInterrupt(() => void remove(scratch));
    let kept = false;
    try {
      mkdirSync(join(scratch, "diff"), { mode: 0o755 });
      // Decompression and tar parsing are loaded only when a layer is unpacked.
      const [{ decompress, tap }, { TarReader }, { unpackLayer }] = await Promise.all([import("../archive"), import("../tar"), import("../unpack")]);
      const src = await open();
      const d = await decompress(src.bytes);
      const h = hasher();
      let tarSize = 0;
      const bytes = tap(d.stream, (c) => {
        h.update(c);
        tarSize += c.length;
      });
      let stats;
      if (p.userns) {
        // Rootless: box's unpacker as root of the user's namespace, fed these bytes (./ns-unpack.ts).
        const { unpackInNamespace } = await import("./ns-unpack");
        stats = await unpackInNamespace(p.userns, bytes, join(scratch, "diff"), opts.onEntry);
      } else {
        const dest = Dir.open(join(scratch, "diff"), "beneath");
        try {
          stats = await unpackLayer(new TarReader(bytes), dest, { onEntry: opts.onEntry });
        } finally {
          dest.close();
        }
      }
      const diffID = h.digest();
      if (expected && diffID !== expected) {
        throw new BoxError(`${opts.label} does not match its diffID ${expected} (its content is ${diffID}): refusing it`);
      }
      const existing = readLayer(p, diffID);
      if (existing) return existing;
      mkdirSync(p.layers, { recursive: true, mode: 0o700 });
      const short = makeShortLink(p, diffID);
      const rec: LayerRecord = { diffID, size: stats.bytes, tarSize, blob: src.blob?.(), short, created: new Date().toISOString(), newest: stats.newest };
      writeFileWhole(join(scratch, "layer.json"), JSON.stringify(rec) + "\n");
      try {
        renameSync(scratch, layerPath(p, diffID));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        // A directory of that name without a valid record: a damaged layer. Moved aside, replaced.
        const other = readLayer(p, diffID);
        if (other) return other;
        renameSync(layerPath(p, diffID), join(p.tmp, `remove-${process.pid}-${hexOf(diffID).slice(0, 12)}-${Date.now()}`));
        renameSync(scratch, layerPath(p, diffID));
      }
      kept = true;
      return rec;
    } finally {
      if (!kept) await remove(scratch);
      undo();
    }
  });
}

export { layerDiff };
