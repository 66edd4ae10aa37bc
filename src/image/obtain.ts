/**
 * Root filesystem tarballs given to `box import`, as one-layer images; and obtainForRun, the image
 * of a container as the container core asks for it today. (The Alpine images: ./alpine-images.ts;
 * registries: ./registry/; docker-save and OCI archives: ./load.ts.)
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { BoxError } from "../errors";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { obtained, type Obtained } from "./alpine-images";
import { detectCompression, fileBytes, tap } from "./archive";
import { applyChanges, encodeConfig, makeConfig, rfc3339 } from "./config";
import { hasher, hexOf } from "./digest";
import { formatRef, parseReference, tagName, type ImageRef } from "./reference";
import { commitImage, loadImage, openStore, pin } from "./store";
import { BlobWriter } from "./store/blobs";
import { ensureLayer, findLayerByBlob, MEDIA, type LayerRecord } from "./store/layers";

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


export { obtainEmbedded, pullAlpine, pullOptions, type Obtained, type PullOptions } from "./alpine-images";
export { lowerDirs } from "./store";
