/**
 * box pack: a copy of this box that carries images (./format.ts says how). The size of the result
 * is known before anything is written, so --max-size refuses up front. The file is written under a
 * scratch name beside the output, checked (read back as a reader would), made 0755 and renamed into
 * place complete; a failure or an interrupt leaves nothing.
 */
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { BoxError, describeSystemError } from "../../errors";
import { writeAll } from "../../fs/dir";
import { onInterrupt } from "../../store/interrupt";
import type { Layout } from "../../store/layout";
import type { Bytes } from "../archive";
import { hasher, hexOf, sha256 } from "../digest";
import { humanSize } from "../../human";
import { MT } from "../oci";
import { familiar } from "../reference";
import { findImage, imageSize, loadImage, namesOf, openStore, readImageConfig, type StoredImage, type StorePaths } from "../store";
import { readBlob } from "../store/blobs";
import { MEDIA } from "../store/layers";
import { compiled, openPack, readAt, selfPack } from "./carried";
import { elfExtent, encodeHeader, HEADER_SIZE, type PackedBlob, type PackedImage, type PackIndex } from "./format";

interface Item {
  digest: string;
  size: number;
  what: string;
  data?: Buffer;
  stream?: () => Promise<Bytes>;
}

export interface Packed {
  size: number;
  base: number;
  images: string[];
}

/** The running box's own ELF file: its fd and where it ends (a packed box's payload left out). */
function ownExecutable(): { fd: number; end: number } {
  if (!compiled()) throw new BoxError("box pack copies the compiled box (dist/box, npm run build); run from source, there is no executable to copy");
  selfPack(); // a damaged payload of our own is refused by name
  const fd = openSync("/proc/self/exe", "r");
  try {
    const { end, bunMapped } = elfExtent((o, n) => readAt(fd, o, n), fstatSync(fd).size);
    if (!bunMapped) throw new BoxError("box pack cannot carry images in this box: its Bun does not keep its own code in a loaded .bun section, so bytes after the executable would not be left alone");
    return { fd, end };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The stored image a word names, or a carried one (put into the store first). */
async function imageFor(layout: Layout, p: StorePaths, word: string): Promise<{ image: StoredImage; name?: string }> {
  const found = findImage(p, word);
  if (found) return found;
  const pack = selfPack();
  if (pack) {
    const { obtainCarried } = await import("./use");
    const id = await obtainCarried(layout, pack, word);
    const image = id && loadImage(p, id);
    if (image) return { image };
  }
  throw new BoxError(`no such image: ${word} (box pack carries images of the store: pull, load, import or commit it first)`);
}

/** The blobs an image needs (config, an OCI manifest made here, its layers' archives as stored). */
async function itemsOf(p: StorePaths, image: StoredImage, word: string): Promise<{ items: Item[]; manifest: string }> {
  const { layerArchive } = await import("../save");
  const config = readBlob(p, image.record.id, 8 << 20);
  if (!config || !readImageConfig(p, image.record.id)) throw new BoxError(`the config of ${word} is damaged: remove the image and bring it in again`);
  const layers: Item[] = image.layers.map((l, i) => {
    if (l.legacy || !l.blob) throw new BoxError(`layer ${i + 1} of ${word} was stored by an older box, which did not keep its archive: remove the image and bring it in again to pack it`);
    const blob = l.blob;
    return { digest: blob.digest, size: blob.size, what: `layer ${i + 1} of ${word}`, stream: () => layerArchive(p, l) };
  });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: image.record.id, size: config.length },
    layers: image.layers.map((l) => ({ mediaType: l.blob!.mediaType === MEDIA.boxXz ? "application/vnd.oci.image.layer.v1.tar+xz" : l.blob!.mediaType, digest: l.blob!.digest, size: l.blob!.size })),
  }));
  const configItem = { digest: image.record.id, size: config.length, what: `the config of ${word}`, data: config };
  const manifestItem = { digest: sha256(manifest), size: manifest.length, what: `the manifest of ${word}`, data: manifest };
  return { items: [manifestItem, configItem, ...layers], manifest: manifestItem.digest };
}

async function writeItem(fd: number, item: Item): Promise<void> {
  if (item.data) return writeAll(fd, item.data);
  const h = hasher();
  let n = 0;
  for await (const chunk of await item.stream!()) {
    n += chunk.length;
    if (n > item.size) break;
    h.update(chunk);
    writeAll(fd, chunk);
  }
  if (n !== item.size || h.digest() !== item.digest) throw new BoxError(`the stored archive of ${item.what} does not match its digest or size: it is damaged (remove the image and bring it in again)`);
}

export async function packImages(layout: Layout, words: string[], output: string, maxSize?: number): Promise<Packed> {
  let out: { isDirectory(): boolean } | undefined;
  try {
    out = statSync(output);
  } catch {
    /* a new file */
  }
  if (out?.isDirectory()) throw new BoxError(`${output} is a directory: give the path of the executable to write`);
  const p = await openStore(layout);
  const self = ownExecutable();
  try {
    // What goes in: each image once, each blob once, in order.
    const images: PackedImage[] = [];
    const items = new Map<string, Item>();
    for (const word of words) {
      const { image, name } = await imageFor(layout, p, word);
      const names = name ? [name] : namesOf(p, image.record.id);
      const prior = images.find((i) => i.id === image.record.id);
      if (prior) {
        for (const n of names) if (!prior.names.includes(n)) prior.names.push(n);
        continue;
      }
      const { items: its, manifest } = await itemsOf(p, image, word);
      for (const it of its) if (!items.has(it.digest)) items.set(it.digest, it);
      images.push({ id: image.record.id, names, manifest, created: image.config.created ?? "", size: imageSize(image) });
    }
    const blobs: PackedBlob[] = [];
    let at = HEADER_SIZE;
    for (const it of items.values()) {
      blobs.push({ digest: it.digest, offset: at, size: it.size });
      at += it.size;
    }
    const index: PackIndex = { version: 1, images, blobs };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const total = at + indexBytes.length;
    const size = self.end + total;
    if (maxSize !== undefined && size > maxSize) {
      throw new BoxError(`the packed executable would be ${humanSize(size)} (box ${humanSize(self.end)} and the images ${humanSize(total)}), more than --max-size ${humanSize(maxSize)} allows: nothing was written`);
    }
    const header = encodeHeader({ total, indexOffset: at, indexLength: indexBytes.length, indexDigest: sha256(indexBytes) });
    await writeFile(output, self, header, [...items.values()], indexBytes, size);
    return { size, base: self.end, images: images.map((i) => (i.names[0] ? familiar(i.names[0]) : hexOf(i.id).slice(0, 12))) };
  } finally {
    closeSync(self.fd);
  }
}

/** Writes the file under a scratch name, reads it back, renames it into place (0755). */
async function writeFile(output: string, self: { fd: number; end: number }, header: Buffer, items: Item[], index: Buffer, size: number): Promise<void> {
  const tmp = join(dirname(output), `.${basename(output)}.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx", 0o700);
  } catch (err) {
    throw new BoxError(`cannot write ${output}: ${describeSystemError(err)}`);
  }
  const undo = onInterrupt(() => rmSync(tmp, { force: true }));
  let ok = false;
  try {
    for (let off = 0; off < self.end; ) {
      const part = readAt(self.fd, off, Math.min(4 << 20, self.end - off));
      if (part.length === 0) throw new BoxError("box's own executable ended while it was being copied");
      writeAll(fd, part);
      off += part.length;
    }
    writeAll(fd, header);
    for (const it of items) await writeItem(fd, it);
    writeAll(fd, index);
    fchmodSync(fd, 0o755);
    fsyncSync(fd);
    if (fstatSync(fd).size !== size) throw new BoxError(`cannot write ${output}: it came out at ${fstatSync(fd).size} bytes instead of ${size}`);
    const check = openPack(tmp, output);
    if (check) closeSync(check.fd);
    if (!check) throw new BoxError(`cannot write ${output}: read back, it carries nothing`);
    closeSync(fd);
    renameSync(tmp, output);
    ok = true;
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot write ${output}: ${describeSystemError(err, false)}`);
  } finally {
    if (!ok) {
      try {
        closeSync(fd);
      } catch {
        /* closed already */
      }
      rmSync(tmp, { force: true });
    }
    undo();
  }
}
