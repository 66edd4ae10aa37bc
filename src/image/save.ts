/**
 * box save: images into one tar that `docker load`, `podman load` and skopeo (docker-archive: and
 * oci-archive:) all read: the layout docker 25+ writes, which is an OCI image layout and a classic
 * docker-save archive at once.
 *   oci-layout, index.json                 the OCI view (names as annotations)
 *   manifest.json                          the docker view (Config, RepoTags, Layers)
 *   blobs/sha256/<hex>                     configs, manifests, and layers as uncompressed tars
 *                                          (so a layer's digest is its diffID)
 * Each layer's tar is its stored archive decompressed, checked against the diffID on the way.
 * Written to FILE.tmp-XXXX and renamed at the end: a failed save leaves no file behind.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { BoxError } from "../errors";
import { writeAll } from "../fs/dir";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { decompress, fileBytes, memoryBytes, type Bytes } from "./archive";
import { EMBEDDED_ALPINE } from "./alpine";
import { hasher, hexOf, sha256 } from "./digest";
import { MT } from "./oci";
import { splitTag } from "./reference";
import { findImage, namesOf, openStore, readImageConfig, type StoredImage, type StorePaths } from "./store";
import { hasBlob, readBlob } from "./store/blobs";
import type { LayerRecord } from "./store/layers";
import { blobPath } from "./store/paths";

const BLOCK = 512;

/** A ustar header for a regular file or directory (names here are short and ASCII). */
export function tarHeader(name: string, size: number, type: "file" | "dir" = "file"): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  h.write(name, 0, "utf8");
  const octal = (v: number, off: number, len: number) => h.write(v.toString(8).padStart(len - 1, "0") + "\0", off, "latin1");
  octal(type === "dir" ? 0o755 : 0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  h.write("        ", 148, "latin1");
  h.write(type === "dir" ? "5" : "0", 156, "latin1");
  h.write("ustar\u000000", 257, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return h;
}

class TarOut {
  constructor(private readonly fd: number) {}
  file(name: string, data: Uint8Array): void {
    writeAll(this.fd, tarHeader(name, data.length));
    writeAll(this.fd, data);
    this.pad(data.length);
  }
  dir(name: string): void {
    writeAll(this.fd, tarHeader(name, 0, "dir"));
  }
  async stream(name: string, size: number, bytes: Bytes, check: (written: number) => void): Promise<void> {
    writeAll(this.fd, tarHeader(name, size));
    let n = 0;
    for await (const chunk of bytes) {
      if (n + chunk.length > size) check(n + chunk.length);
      writeAll(this.fd, chunk);
      n += chunk.length;
    }
    check(n);
    this.pad(n);
  }
  private pad(n: number): void {
    const rest = (BLOCK - (n % BLOCK)) % BLOCK;
    if (rest) writeAll(this.fd, Buffer.alloc(rest));
  }
  end(): void {
    writeAll(this.fd, Buffer.alloc(BLOCK * 2));
  }
}

/** The layer's archive, from the store, or (the embedded Alpine) from box itself. */
export async function layerArchive(p: StorePaths, l: LayerRecord): Promise<Bytes> {
  if (l.legacy || !l.blob) throw new BoxError(`layer ${l.diffID} was stored by an older box, which did not keep its archive: remove the image and bring it in again to save it`);
  if (hasBlob(p, l.blob.digest)) return fileBytes(blobPath(p, l.blob.digest));
  if (l.blob.digest === `sha256:${EMBEDDED_ALPINE.sha256}`) {
    const { embedded } = await import("../embedded");
    return memoryBytes(await Bun.file(embedded.alpinePath).bytes());
  }
  throw new BoxError(`the archive of layer ${l.diffID} is missing from the store: remove the image and pull or load it again`);
}

interface Saved {
  image: StoredImage;
  names: string[];
  manifest: Buffer;
}

/** Writes the images named by words to fd (a file or stdout). */
async function write(p: StorePaths, words: string[], fd: number): Promise<void> {
  const picked: Saved[] = [];
  for (const word of words) {
    const found = findImage(p, word);
    if (!found) throw new BoxError(`no such image: ${word}`);
    const image = found.image;
    const names = found.name ? [found.name] : namesOf(p, image.record.id);
    const prior = picked.find((s) => s.image.record.id === image.record.id);
    if (prior) {
      for (const n of names) if (!prior.names.includes(n)) prior.names.push(n);
      continue;
    }
    for (const l of image.layers) if (l.legacy || !l.blob) await layerArchive(p, l); // refuse before writing anything
    const config = readBlob(p, image.record.id, 8 << 20);
    if (!config || !readImageConfig(p, image.record.id)) throw new BoxError(`the config of ${word} is damaged: remove the image and bring it in again`);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: image.record.id, size: config.length },
      layers: image.layers.map((l) => ({ mediaType: MT.ociLayer, digest: l.diffID, size: l.tarSize })),
    }));
    picked.push({ image, names, manifest });
  }
  const out = new TarOut(fd);
  out.file("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  out.dir("blobs/");
  out.dir("blobs/sha256/");
  const written = new Set<string>();
  for (const s of picked) {
    for (const l of s.image.layers) {
      if (written.has(l.diffID)) continue;
      written.add(l.diffID);
      const d = await decompress(await layerArchive(p, l));
      const h = hasher();
      const bytes = (async function* () {
        for await (const c of d.stream) {
          h.update(c);
          yield c;
        }
      })();
      await out.stream(`blobs/sha256/${hexOf(l.diffID)}`, l.tarSize, bytes, (n) => {
        if (n > l.tarSize) throw new BoxError(`the stored archive of layer ${l.diffID} is longer than recorded: it is damaged`);
      });
      if (h.digest() !== l.diffID) throw new BoxError(`the stored archive of layer ${l.diffID} does not match its diffID: it is damaged`);
    }
    const config = readBlob(p, s.image.record.id, 8 << 20)!;
    if (!written.has(s.image.record.id)) out.file(`blobs/sha256/${hexOf(s.image.record.id)}`, config);
    written.add(s.image.record.id);
    out.file(`blobs/sha256/${hexOf(sha256(s.manifest))}`, s.manifest);
  }
  const manifestDesc = (s: Saved, name?: string) => ({
    mediaType: MT.ociManifest,
    digest: sha256(s.manifest),
    size: s.manifest.length,
    ...(name ? { annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": splitTag(name).tag } } : {}),
  });
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: picked.flatMap((s) => (s.names.length ? s.names.map((n) => manifestDesc(s, n)) : [manifestDesc(s)])),
  };
  out.file("index.json", Buffer.from(JSON.stringify(index)));
  const dockerManifest = picked.map((s) => ({
    Config: `blobs/sha256/${hexOf(s.image.record.id)}`,
    // Full names: podman takes a short one for a name on "localhost"; docker reads either.
    RepoTags: s.names.length ? s.names : null,
    Layers: s.image.layers.map((l) => `blobs/sha256/${hexOf(l.diffID)}`),
  }));
  out.file("manifest.json", Buffer.from(JSON.stringify(dockerManifest)));
  out.end();
}

/** box save: to a file (written whole, then renamed into place) or to fd 1. */
export async function saveImages(layout: Layout, words: string[], output: string | undefined): Promise<void> {
  const p = await openStore(layout);
  if (output === undefined) {
    await write(p, words, 1);
    return;
  }
  const tmp = `${output}.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`;
  let fd: number;
  try {
    fd = openSync(tmp, "wx", 0o644);
  } catch (err) {
    throw new BoxError(`cannot write ${output}: ${(err as Error).message}`);
  }
  const undo = onInterrupt(() => rmSync(tmp, { force: true }));
  let ok = false;
  try {
    await write(p, words, fd);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (ok) renameSync(tmp, output);
    else rmSync(tmp, { force: true });
    undo();
  }
}
