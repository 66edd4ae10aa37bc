/**
 * A carried image into the store, the first time it is used: every blob it needs is checked
 * against its digest first (a damaged executable is refused before anything is unpacked), then the
 * image goes through the store's own load path (../load.ts, as an OCI layout whose files are
 * slices of the payload), so it is unpacked, checked against its diffIDs and named exactly as a
 * `box load` would: once, and only whole.
 */
import { BoxError } from "../../errors";
import type { Layout } from "../../store/layout";
import { trace } from "../../trace";
import { parseConfig } from "../config";
import { hexOf } from "../digest";
import { fail, MAX_JSON, type Source } from "../load-sources";
import { checkLayerType, MT, parseManifest } from "../oci";
import { openStore, type StorePaths } from "../store";
import { BlobWriter, hasBlob } from "../store/blobs";
import { readLayer } from "../store/layers";
import { blobBytes, damagedError, findCarried, readAt, readSmallBlob, verifyBlob, type Pack } from "./carried";
import type { PackedBlob, PackedImage } from "./format";

function blobOf(pack: Pack, digest: string, what: string): PackedBlob {
  const b = pack.blobs.get(digest);
  if (!b) throw damagedError(pack.exe, `${what} (${digest.slice(0, 19)}) is not in it`);
  return b;
}

/** The blobs of an image, checked: its manifest, its config (its digest is the image ID) and
 * every layer the store does not have yet. */
async function verifyImage(p: StorePaths, pack: Pack, image: PackedImage, name: string): Promise<PackedBlob[]> {
  const manifestBlob = blobOf(pack, image.manifest, `the manifest of ${name}`);
  const m = parseManifest(readSmallBlob(pack, manifestBlob, MAX_JSON, `the manifest of ${name}`), MT.ociManifest, `the manifest of ${name} in ${pack.exe}`);
  if (m.kind !== "manifest" || m.config.digest !== image.id) throw damagedError(pack.exe, `the manifest of ${name} does not name its config`);
  const configBlob = blobOf(pack, image.id, `the config of ${name}`);
  const config = parseConfig(readSmallBlob(pack, configBlob, MAX_JSON, `the config of ${name}`), `the config of ${name} in ${pack.exe}`);
  if (config.rootfs.diff_ids.length !== m.layers.length) throw damagedError(pack.exe, `the manifest and config of ${name} list different layers`);
  const checked = [manifestBlob, configBlob];
  for (const [i, l] of m.layers.entries()) {
    checkLayerType(l, `the manifest of ${name} in ${pack.exe}`);
    const blob = blobOf(pack, l.digest, `layer ${i + 1} of ${name}`);
    if (blob.size !== l.size) throw damagedError(pack.exe, `layer ${i + 1} of ${name} is not the size its manifest gives`);
    if (!readLayer(p, config.rootfs.diff_ids[i]!)) await verifyBlob(pack, blob, `layer ${i + 1} of ${name}`);
    checked.push(blob);
  }
  return checked;
}

/** The payload as an OCI layout holding just this image: index.json made here, blobs by digest. */
function packSource(pack: Pack, image: PackedImage, blobs: PackedBlob[], name: string): Source {
  const what = `the image ${name} carried in ${pack.exe}`;
  const manifest = blobs[0]!;
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: (image.names.length ? image.names : [undefined]).map((n) => ({
      mediaType: MT.ociManifest,
      digest: manifest.digest,
      size: manifest.size,
      ...(n ? { annotations: { "io.containerd.image.name": n } } : {}),
    })),
  }));
  const byPath = new Map(blobs.map((b) => [`blobs/sha256/${hexOf(b.digest)}`, b]));
  const get = (path: string) => byPath.get(path) ?? fail(what, `it has no file ${path}`);
  return {
    what,
    has: (path) => path === "index.json" || byPath.has(path),
    read: (path, cap) => (path === "index.json" ? index : readSmallBlob(pack, get(path), cap, path)),
    info: (path) => ({ digest: get(path).digest, size: get(path).size }),
    open: (path) => blobBytes(pack, get(path)),
    adopt: (path, p) => {
      const b = get(path);
      if (hasBlob(p, b.digest, b.size)) return;
      const w = new BlobWriter(p, { digest: b.digest, size: b.size }, `${path} of ${what}`);
      try {
        for (let done = 0; done < b.size; ) {
          const part = readAt(pack.fd, pack.base + b.offset + done, Math.min(1 << 20, b.size - done));
          if (part.length === 0) throw damagedError(pack.exe, `it ends inside the blob ${b.digest}`);
          w.write(part);
          done += part.length;
        }
        w.commit();
      } catch (err) {
        w.abort();
        throw err;
      }
    },
  };
}

/** Puts the carried image into the store (checked first) and returns its ID. */
export async function useCarried(layout: Layout, pack: Pack, image: PackedImage): Promise<string> {
  const p = await openStore(layout);
  const name = image.names[0] ? image.names[0].replace(/^docker\.io\/(library\/)?/, "") : hexOf(image.id).slice(0, 12);
  trace("image/pack/use.ts:1", "verify", { image: name });
  const blobs = await verifyImage(p, pack, image, name);
  trace("image/pack/use.ts:2", "carried-load", { image: name, blobs: blobs.length });
  const { loadSource } = await import("../load");
  const loaded = await loadSource(p, packSource(pack, image, blobs, name));
  const id = loaded[0]?.id;
  if (id !== image.id) throw damagedError(pack.exe, `the image ${name} it carries came out as ${id ?? "nothing"}`);
  return id;
}

/** The image a word names among those this box carries, put into the store; undefined when this
 * box carries none of that name. */
export async function obtainCarried(layout: Layout, pack: Pack, word: string): Promise<string | undefined> {
  const image = findCarried(pack, word);
  return image ? useCarried(layout, pack, image) : undefined;
}
