/**
 * How single-layer images get into the store: the Alpine compiled into box, a release from an
 * Alpine mirror, a root filesystem tarball given to `box import`. (Registries: ./registry/;
 * docker-save and OCI archives: ./archive/.) Each ends with an image in the layered store and its
 * names pointing at it.
 */
import { closeSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { withLock } from "../store/lock";
import { basename, join } from "node:path";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { EMBEDDED_ALPINE } from "./alpine";
import { alpineConfig, embeddedConfig } from "./alpine-config";
import { detectCompression, fileBytes, memoryBytes, tap } from "./archive";
import { applyChanges, encodeConfig, makeConfig, rfc3339 } from "./config";
import { hasher, hexOf } from "./digest";
import { download, fetchText } from "./download";
import { alpineArch, branchOf, DEFAULT_MIRROR, indexUrl, parseReleases } from "./mirror";
import { formatRef, parseReference, referenceOf, tagName, type ImageRef } from "./reference";
import { commitImage, findImage, loadImage, openStore, pin, type StoredImage, type StorePaths } from "./store";
import { BlobWriter, blobSize, hasBlob } from "./store/blobs";
import { ensureLayer, findLayerByBlob, MEDIA, readLayer, type LayerRecord } from "./store/layers";
import { blobPath } from "./store/paths";
import { readRef } from "./store/refs";

export interface Obtained {
  /** The image ID's hex digits. */
  digest: string;
  /** The overlay lowerdir option for it: its layers' short paths, top first, joined by ':'. */
  rootfs: string;
  image: StoredImage;
}

/** Absolute paths of an image's layers as overlay lowerdirs, top first (short links, see ./store/paths). */
export function lowerDirs(p: StorePaths, image: StoredImage): string[] {
  return image.layers.map((l) => join(p.links, l.short)).reverse();
}

function obtained(p: StorePaths, image: StoredImage): Obtained {
  return { digest: hexOf(image.record.id), rootfs: lowerDirs(p, image).join(":"), image };
}

const EMBEDDED_NAME = `docker.io/library/${EMBEDDED_ALPINE.name}:${EMBEDDED_ALPINE.version}`;

/** The Alpine compiled into box: unpacked once, named alpine:3.20.3. */
export async function obtainEmbedded(layout: Layout): Promise<Obtained> {
  const p = await openStore(layout);
  const id = readRef(p, EMBEDDED_NAME);
  const have = id && loadImage(p, id);
  if (have) return obtained(p, have);
  const blob = `sha256:${EMBEDDED_ALPINE.sha256}`;
  const unpin = await pin(p, [blob, EMBEDDED_ALPINE.diffID]);
  try {
    const layer = await ensureLayer(p, EMBEDDED_ALPINE.diffID, EMBEDDED_ALPINE.diffID, async () => {
      const { embedded } = await import("../embedded");
      const bytes = await Bun.file(embedded.alpinePath).bytes();
      return { bytes: memoryBytes(bytes), blob: () => ({ digest: blob, mediaType: MEDIA.ociLayerGzip, size: bytes.length }) };
    }, { label: `the embedded alpine:${EMBEDDED_ALPINE.version}` });
    const newId = await commitImage(p, { config: embeddedConfig(), layers: [layer], source: "embedded", names: [EMBEDDED_NAME] });
    return obtained(p, loadImage(p, newId)!);
  } finally {
    unpin();
  }
}

export interface PullOptions {
  mirror?: string;
  /** How long a request may go without receiving anything. */
  timeoutMs: number;
}

export function pullOptions(mirror: string | undefined, timeout: string | undefined, env = process.env): PullOptions {
  const t = timeout ?? env.BOX_PULL_TIMEOUT ?? "30";
  const secs = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || !(secs > 0)) throw new BoxError(`invalid timeout "${t}": give seconds, more than 0`);
  const m = mirror ?? env.BOX_ALPINE_MIRROR ?? DEFAULT_MIRROR;
  if (!/^https?:\/\/[^/]+/.test(m)) throw new BoxError(`invalid mirror "${m}": give an http:// or https:// URL`);
  return { mirror: m, timeoutMs: secs * 1000 };
}

/** alpine:TAG from an Alpine mirror: the release index, then the tarball, checked before it is unpacked. */
export async function pullAlpine(layout: Layout, ref: ImageRef, opts: PullOptions): Promise<Obtained> {
  if (ref.name !== "alpine") {
    throw new BoxError(`an Alpine mirror has only alpine images; pull ${formatRef(ref)} from a registry (box pull without --mirror)`);
  }
  const { branch, version } = branchOf(ref.tag);
  const index = indexUrl(opts.mirror ?? DEFAULT_MIRROR, branch, alpineArch());
  const release = parseReleases(await fetchText(index, opts.timeoutMs), index, version);
  const p = await openStore(layout);
  const blob = `sha256:${release.sha256}`;
  const unpin = await pin(p, [blob]);
  try {
    // One download and one unpack of a release, however many pulls of it run at once.
    const layer = findLayerByBlob(p, blob) ?? (await withLock(join(p.locks, `blob-${release.sha256}.lock`), async () => {
      const again = findLayerByBlob(p, blob);
      if (again) return again;
      if (!hasBlob(p, blob, release.size)) {
        const dir = mkdtempSync(join(p.tmp, `download-${process.pid}-`));
        const undo = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
        try {
          const file = join(dir, release.file);
          await download(release.url, file, release, `alpine:${release.version}`, opts.timeoutMs);
          renameSync(file, blobPath(p, blob));
        } finally {
          rmSync(dir, { recursive: true, force: true });
          undo();
        }
      }
      return ensureLayer(p, blob, undefined, async () => ({
        bytes: fileBytes(blobPath(p, blob)),
        blob: () => ({ digest: blob, mediaType: MEDIA.ociLayerGzip, size: release.size }),
      }), { label: `alpine:${release.version}` });
    }));
    const names = [...new Set([`docker.io/library/alpine:${ref.tag}`, `docker.io/library/alpine:${release.version}`])];
    const id = await commitImage(p, { config: alpineConfig(layer.diffID, layer.newest ?? 0), layers: [layer], source: release.url, names });
    logger.info(`pulled alpine:${release.version} (${ref.tag === release.version ? "" : `as ${formatRef(ref)}, `}${id.slice(0, 19)})`);
    return obtained(p, loadImage(p, id)!);
  } finally {
    unpin();
  }
}

function sha256File(path: string): string {
  const hash = hasher();
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest();
}

const SAVE_ARCHIVE = /^(manifest\.json|oci-layout|index\.json|repositories|[0-9a-f]{64}\.json|[0-9a-f]{64}\/(layer\.tar|json|VERSION)|blobs\/sha256\/[0-9a-f]{64})$/;

/**
 * A root filesystem tarball (or stdin with "-") as a one-layer image named NAME:TAG, with
 * `--change` applied to its config. The tarball is kept as the layer's blob (box save needs it).
 * The same file with the same changes always gives the same image ID: "created" is the newest
 * time in the archive. An archive that is really a `docker save` or OCI archive is refused with a
 * pointer to box load, before anything of it is stored.
 */
export async function importArchive(layout: Layout, file: string, name: string, changes: readonly string[] = []): Promise<Obtained> {
  const ref = parseReference(name);
  if (!ref || ref.digest) throw new BoxError(`invalid image name "${name}": use lower-case letters, digits, '.', '_' and '-', and an optional :TAG`);
  const runConfig = applyChanges({}, changes);
  const shown = file === "-" ? "stdin" : file;
  const p = await openStore(layout);
  let path = file;
  let scratch: string | undefined;
  const undo = onInterrupt(() => scratch && rmSync(scratch, { recursive: true, force: true }));
  let writer: BlobWriter | undefined;
  try {
    if (file === "-") {
      scratch = mkdtempSync(join(p.tmp, `import-${process.pid}-`));
      path = join(scratch, "stdin");
      const fd = openSync(path, "w", 0o600);
      try {
        for await (const chunk of Bun.stdin.stream()) {
          const { writeAll } = await import("../fs/dir");
          writeAll(fd, chunk);
        }
      } finally {
        closeSync(fd);
      }
    } else {
      let st;
      try {
        st = statSync(file);
      } catch {
        throw new BoxError(`${file} does not exist`);
      }
      if (!st.isFile()) throw new BoxError(`${file} is not a file`);
    }
    const size = statSync(path).size;
    if (size === 0) throw new BoxError(`${shown} is empty: nothing to import`);
    const head = Buffer.alloc(512);
    const fd = openSync(path, "r");
    const got = readSync(fd, head, 0, 512, 0);
    closeSync(fd);
    const compression = detectCompression(head.subarray(0, got));
    const mediaType = { gzip: MEDIA.ociLayerGzip, zstd: MEDIA.ociLayerZstd, none: MEDIA.ociLayer, xz: MEDIA.boxXz }[compression];
    const digest = sha256File(path);
    const unpin = await pin(p, [digest]);
    try {
      let layer: LayerRecord | undefined = findLayerByBlob(p, digest);
      if (!layer) {
        layer = await ensureLayer(p, digest, undefined, async () => {
          const { tarOf } = await import("./archive");
          const w = (writer = new BlobWriter(p, { digest, size }, shown));
          const { stream } = await tarOf(tap(fileBytes(path), (c) => w.write(c)), shown);
          const blob = () => {
            w.commit();
            return { digest, mediaType, size };
          };
          return { bytes: stream, blob };
        }, {
          label: shown,
          recheck: () => findLayerByBlob(p, digest),
          onEntry: (_e, rel) => {
            const top = rel.toString("latin1");
            if (SAVE_ARCHIVE.test(top)) {
              throw new BoxError(`${shown} is an image archive (docker save or OCI), not a root filesystem: load it with box load -i ${file === "-" ? "-" : file}`);
            }
          },
        });
      }
      const config = makeConfig([layer.diffID], rfc3339(layer.newest ?? 0), runConfig, "box import");
      const id = await commitImage(p, { config: encodeConfig(config), layers: [layer], source: file === "-" ? "import of stdin" : `import of ${basename(file)}`, names: [tagName(ref)] });
      return obtained(p, loadImage(p, id)!);
    } finally {
      unpin();
    }
  } finally {
    writer?.abort();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    undo();
  }
}

/**
 * The image `box run` asked for, in the shape run.ts takes today (./run.ts's imageForRun is the
 * fuller interface): a name or ID in the store; else the embedded Alpine when the tag is one of its
 * own (no network needed); else alpine from a mirror when BOX_ALPINE_MIRROR says which; else a
 * pull from its registry. rootfs is the overlay lowerdir option: the layers, top first, joined.
 */
export async function obtainForRun(layout: Layout, ref: ImageRef): Promise<Obtained> {
  const { imageForRun } = await import("./run");
  const ri = await imageForRun(layout, formatRef(ref), "missing");
  const p = await openStore(layout);
  const image = loadImage(p, ri.id);
  if (!image) throw new BoxError(`the image ${formatRef(ref)} vanished from the store (a concurrent box rmi?): try again`);
  return { digest: hexOf(ri.id), rootfs: ri.layers.join(":"), image };
}

export { readLayer, blobSize, findImage, referenceOf };
