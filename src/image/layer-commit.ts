/**
 * An image made of another one and one more layer (box commit): the layer's tar is written to a
 * scratch file while its sha256 (its diffID) is counted, kept as the layer's blob (uncompressed,
 * so box save has it) and unpacked into the store like any pulled layer; the config is the base
 * image's with the new layer, a history entry, and the run config the caller gives. The base
 * image's layers are pinned meanwhile, so a concurrent `box rmi` and collection cannot take them.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { writeAll } from "../fs/dir";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { fileBytes, tap } from "./archive";
import { encodeConfig, type ImageConfig, type RunConfig } from "./config";
import { hasher } from "./digest";
import { commitImage, loadImage, openStore, pin } from "./store";
import { BlobWriter } from "./store/blobs";
import { ensureLayer, MEDIA } from "./store/layers";

export interface LayerCommit {
  /** The base image's ID. */
  base: string;
  /** Writes the layer's tar, chunk by chunk, to the sink. */
  write(sink: (chunk: Uint8Array) => void): Promise<void>;
  config: RunConfig;
  author?: string;
  comment?: string;
  /** The history entry's created_by (the container's command, as docker writes it). */
  createdBy: string;
  /** A full name to tag it with ("docker.io/library/app:latest"), or none. */
  name?: string;
  source: string;
}

/** Makes the image and returns its ID. */
export async function commitLayer(layout: Layout, c: LayerCommit): Promise<string> {
  const p = await openStore(layout);
  const base = loadImage(p, c.base);
  if (!base) throw new BoxError(`the image ${c.base} is no longer complete in the store: cannot commit on top of it`);
  const unpin = await pin(p, [c.base, ...base.layers.map((l) => l.diffID)]);
  const scratch = mkdtempSync(join(p.tmp, `commit-${process.pid}-`));
  const undo = onInterrupt(() => rmSync(scratch, { recursive: true, force: true }));
  let writer: BlobWriter | undefined;
  try {
    const file = join(scratch, "layer.tar");
    const h = hasher();
    let size = 0;
    const fd = openSync(file, "wx", 0o600);
    try {
      await c.write((chunk) => {
        writeAll(fd, chunk);
        h.update(chunk);
        size += chunk.length;
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const diffID = h.digest();
    const layer = await ensureLayer(p, diffID, diffID, async () => {
      const w = (writer = new BlobWriter(p, { digest: diffID, size }, "the container's changes"));
      const blob = () => {
        w.commit();
        return { digest: diffID, mediaType: MEDIA.ociLayer, size };
      };
      return { bytes: tap(fileBytes(file), (b) => w.write(b)), blob };
    }, { label: "the container's changes" });
    const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const config: ImageConfig = {
      ...base.config,
      created,
      ...(c.author ? { author: c.author } : {}),
      config: c.config,
      rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, diffID] },
      history: [...(base.config.history ?? []), { created, created_by: c.createdBy, ...(c.author ? { author: c.author } : {}), ...(c.comment ? { comment: c.comment } : {}) }],
    };
    if (!c.author) delete config.author;
    return await commitImage(p, { config: encodeConfig(config), layers: [...base.layers, layer], source: c.source, names: c.name ? [c.name] : [] });
  } finally {
    writer?.abort();
    rmSync(scratch, { recursive: true, force: true });
    undo();
    unpin();
  }
}
