/**
 * box load: images from an archive written by `docker save` (classic, and the OCI-layout form
 * docker 25+ writes), `podman save`, `skopeo copy ... docker-archive:` or `oci-archive:`, or from an
 * OCI layout directory. Several images per archive; names from the archive.
 *
 * An archive is a tar (compressed or not) nobody vouches for. Its regular files are copied into a
 * scratch directory under numbers, never under their names, and read through a table of names:
 * its symbolic links (docker save shares layers that way) are resolved inside that table, so
 * nothing in it can name a file outside. Every blob is checked against its digest, every layer
 * against its diffID. Layers become blobs and layers of the store like pulled ones; the images
 * appear only once all of that is done, so a failure leaves nothing but scratch (removed).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { Dir, isFsError, removeHostTree, writeAll } from "../fs/dir";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { detectCompression, fileBytes, peek, type Bytes } from "./archive";
import { parseConfig } from "./config";
import { checkDigest, hasher, hexOf, sha256 } from "./digest";
import { checkLayerType, MT, parseManifest, pickPlatform, type Descriptor } from "./oci";
import { familiar, parseReference, tagName } from "./reference";
import { commitImage, openStore, pin, type StorePaths } from "./store";
import { BlobWriter, hasBlob } from "./store/blobs";
import { ensureLayer, MEDIA, readLayer, type LayerRecord } from "./store/layers";
import { blobPath } from "./store/paths";

/** The files of an archive or layout, by name. */
interface Source {
  what: string;
  has(path: string): boolean;
  /** A small file whole (JSON), refused when larger than cap. */
  read(path: string, cap: number): Buffer;
  /** A file's digest and size (computed when it was copied in, or now). */
  info(path: string): { digest: string; size: number };
  open(path: string): Bytes;
  /** Puts the file into the store as the blob it is (moved when it is box's own scratch). */
  adopt(path: string, p: StorePaths): void;
}

const MAX_JSON = 8 << 20;

function fail(what: string, why: string): never {
  throw new BoxError(`${what} is not an image archive box can load: ${why}`);
}

/** A tar archive's regular files, copied under numbers into dir, and its links, as a table. */
async function tarSource(bytes: Bytes, dir: string, what: string): Promise<Source> {
  const [{ TarReader }, { decompress }, { memberBytes }] = await Promise.all([import("./tar"), import("./archive"), import("./unpack")]);
  const d = await decompress(bytes);
  const files = new Map<string, { file: string; digest: string; size: number }>();
  const links = new Map<string, string>();
  const tar = new TarReader(d.stream);
  let n = 0;
  let entry;
  try {
    entry = await tar.next();
  } catch {
    fail(what, "it is not a tar archive");
  }
  for (; entry; entry = await tar.next()) {
    const path = memberBytes(entry.name).toString("utf8");
    if (entry.type === "file") {
      const file = join(dir, String(n++));
      const fd = openSync(file, "wx", 0o600);
      const h = hasher();
      let size = 0;
      try {
        for await (const chunk of tar.body()) {
          writeAll(fd, chunk);
          h.update(chunk);
          size += chunk.length;
        }
      } finally {
        closeSync(fd);
      }
      files.set(path, { file, digest: h.digest(), size });
      links.delete(path);
    } else if (entry.type === "symlink") {
      const target = entry.linkname.toString("utf8");
      links.set(path, target.startsWith("/") ? target.slice(1) : join(path, "..", target));
      files.delete(path);
    } else if (entry.type === "link") {
      links.set(path, memberBytes(entry.linkname).toString("utf8"));
      files.delete(path);
    }
  }
  const resolve = (path: string) => {
    let p = join(".", path);
    for (let i = 0; i < 40; i++) {
      const f = files.get(p);
      if (f) return f;
      const next = links.get(p);
      if (next === undefined) return undefined;
      p = join(".", next);
      if (p.startsWith("..")) return undefined;
    }
    return undefined;
  };
  const get = (path: string) => resolve(path) ?? fail(what, `it has no file ${path}`);
  return {
    what,
    has: (path) => resolve(path) !== undefined,
    read: (path, cap) => {
      const f = get(path);
      if (f.size > cap) fail(what, `${path} is larger than ${cap} bytes`);
      return readFileSync(f.file);
    },
    info: (path) => ({ digest: get(path).digest, size: get(path).size }),
    open: (path) => fileBytes(get(path).file),
    adopt: (path, p) => {
      const f = get(path);
      if (hasBlob(p, f.digest)) return;
      renameSync(f.file, blobPath(p, f.digest));
      // Another name of the same file (a shared layer) now reads the blob.
      f.file = blobPath(p, f.digest);
    },
  };
}

/** An OCI layout directory, read through src/fs (no link followed, nothing outside it). */
function dirSource(path: string): Source {
  const dir = Dir.open(path, "beneath");
  const known = new Map<string, { digest: string; size: number }>();
  const readAll = async function* (rel: string): AsyncGenerator<Uint8Array> {
    const fd = dir.openFile(rel);
    try {
      const { readSync } = await import("node:fs");
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) yield Buffer.from(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  };
  const hashOf = (rel: string) => {
    const hit = known.get(rel);
    if (hit) return hit;
    const fd = dir.openFile(rel);
    const { readSync } = require("node:fs") as typeof import("node:fs");
    const h = hasher();
    let size = 0;
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
        h.update(buf.subarray(0, n));
        size += n;
      }
    } finally {
      closeSync(fd);
    }
    const info = { digest: h.digest(), size };
    known.set(rel, info);
    return info;
  };
  return {
    what: path,
    has: (rel) => {
      try {
        return dir.lstat(rel).type === "file";
      } catch {
        return false;
      }
    },
    read: (rel, cap) => {
      try {
        return dir.readFile(rel, cap);
      } catch (err) {
        if (isFsError(err)) fail(path, err.message);
        throw err;
      }
    },
    info: hashOf,
    open: (rel) => readAll(rel),
    adopt: (rel, p) => {
      const { digest, size } = hashOf(rel);
      if (hasBlob(p, digest, size)) return;
      const w = new BlobWriter(p, { digest, size }, `${path}/${rel}`);
      try {
        const fd = dir.openFile(rel);
        const { readSync } = require("node:fs") as typeof import("node:fs");
        try {
          const buf = Buffer.allocUnsafe(1 << 20);
          for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) w.write(buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
        w.commit();
      } catch (err) {
        w.abort();
        throw err;
      }
    },
  };
}

interface PlannedLayer {
  diffID: string;
  path: string;
  /** What the archive says the blob is (OCI); checked against the file. */
  descriptor?: Descriptor;
}

interface Planned {
  config: Buffer;
  id: string;
  layers: PlannedLayer[];
  names: string[];
  manifest?: { bytes: Buffer; digest: string; mediaType: string; size: number };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function json(src: Source, path: string): unknown {
  try {
    return JSON.parse(src.read(path, MAX_JSON).toString("utf8"));
  } catch (err) {
    if (err instanceof BoxError) throw err;
    fail(src.what, `${path} is not valid JSON`);
  }
}

/** A tag from the archive, normalised; undefined (with no fuss) when it is not one. */
function nameOf(word: string): string | undefined {
  const r = parseReference(word);
  return r && !r.digest ? tagName(r) : undefined;
}

/** docker-archive: manifest.json lists each image's config, tags and layer files. */
function planDocker(src: Source): Planned[] {
  const doc = json(src, "manifest.json");
  if (!Array.isArray(doc)) fail(src.what, "manifest.json is not a list");
  return doc.map((item, i) => {
    const m = obj(item);
    if (!m || typeof m.Config !== "string" || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === "string")) {
      fail(src.what, `entry ${i + 1} of manifest.json lacks Config or Layers`);
    }
    const config = src.read(m.Config, MAX_JSON);
    const id = sha256(config);
    const cfg = parseConfig(config, `the config ${m.Config} in ${src.what}`);
    const layers = m.Layers as string[];
    if (layers.length !== cfg.rootfs.diff_ids.length) fail(src.what, `image ${i + 1} lists ${layers.length} layers but its config has ${cfg.rootfs.diff_ids.length}`);
    const tags = Array.isArray(m.RepoTags) ? m.RepoTags.filter((t): t is string => typeof t === "string") : [];
    return {
      config,
      id,
      layers: layers.map((path, j) => ({ diffID: cfg.rootfs.diff_ids[j]!, path })),
      names: tags.map(nameOf).filter((n): n is string => n !== undefined),
    };
  });
}

const blobFile = (digest: string) => `blobs/sha256/${hexOf(digest)}`;

/** A blob of an OCI layout, checked against its descriptor. */
function ociBlob(src: Source, d: Descriptor): Buffer {
  const path = blobFile(d.digest);
  if (!src.has(path)) fail(src.what, `it lacks the blob ${d.digest}`);
  const bytes = src.read(path, MAX_JSON);
  if (sha256(bytes) !== d.digest || bytes.length !== d.size) fail(src.what, `the blob ${d.digest} does not match its digest or size`);
  return bytes;
}

/** OCI layout: index.json, its manifests (a nested index: the linux/amd64 image), names from annotations. */
function planOci(src: Source): Planned[] {
  const index = parseManifest(src.read("index.json", MAX_JSON), MT.ociIndex, `index.json of ${src.what}`);
  if (index.kind !== "index") fail(src.what, "index.json is not an index");
  const byId = new Map<string, Planned>();
  for (const top of index.manifests) {
    let desc = top;
    let manifestBytes = ociBlob(src, desc);
    let parsed = parseManifest(manifestBytes, desc.mediaType, `manifest ${desc.digest} of ${src.what}`);
    if (parsed.kind === "index") {
      desc = pickPlatform(parsed.manifests, `the index ${top.digest} in ${src.what}`);
      manifestBytes = ociBlob(src, desc);
      parsed = parseManifest(manifestBytes, desc.mediaType, `manifest ${desc.digest} of ${src.what}`);
      if (parsed.kind !== "manifest") fail(src.what, `${desc.digest} is an index inside an index`);
    }
    const config = ociBlob(src, parsed.config);
    const cfg = parseConfig(config, `the config ${parsed.config.digest} in ${src.what}`);
    if (parsed.layers.length !== cfg.rootfs.diff_ids.length) fail(src.what, `manifest ${desc.digest} lists ${parsed.layers.length} layers but its config has ${cfg.rootfs.diff_ids.length}`);
    for (const l of parsed.layers) checkLayerType(l, `manifest ${desc.digest} of ${src.what}`);
    const id = parsed.config.digest;
    const a = top.annotations ?? {};
    const full = a["io.containerd.image.name"] ?? a["org.opencontainers.image.ref.name"];
    const name = full && /[:/]/.test(full) ? nameOf(full) : undefined;
    const plan = byId.get(id) ?? {
      config,
      id,
      layers: parsed.layers.map((l, j) => ({ diffID: cfg.rootfs.diff_ids[j]!, path: blobFile(l.digest), descriptor: l })),
      names: [],
      manifest: { bytes: manifestBytes, digest: desc.digest, mediaType: parsed.mediaType, size: manifestBytes.length },
    };
    if (name && !plan.names.includes(name)) plan.names.push(name);
    byId.set(id, plan);
  }
  return [...byId.values()];
}

export interface Loaded {
  id: string;
  names: string[];
}

/** Loads every image of an archive file ("-": stdin) or OCI layout directory. */
export async function loadImages(layout: Layout, input: string): Promise<Loaded[]> {
  const what = input === "-" ? "stdin" : input;
  let isDir = false;
  if (input !== "-") {
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      throw new BoxError(`${input} does not exist`);
    }
  }
  const p = await openStore(layout);
  const scratch = mkdtempSync(join(p.tmp, `load-${process.pid}-`));
  const undo = onInterrupt(() => removeHostTree(scratch));
  try {
    let src: Source;
    if (isDir) src = dirSource(input);
    else {
      const bytes = input === "-" ? (Bun.stdin.stream() as unknown as Bytes) : fileBytes(input);
      const { head, stream } = await peek(bytes, 512);
      if (head.length === 0) throw new BoxError(`${what} is empty: nothing to load`);
      mkdirSync(join(scratch, "files"));
      src = await tarSource(stream, join(scratch, "files"), what);
    }
    let plans: Planned[];
    if (src.has("manifest.json")) plans = planDocker(src);
    else if (src.has("index.json")) plans = planOci(src);
    else fail(what, "it has neither manifest.json (docker save) nor index.json (OCI)");
    if (plans.length === 0) fail(what, "it holds no image");

    // Every layer once, checked against its diffID and (OCI) its descriptor.
    const wanted = new Map<string, PlannedLayer>();
    for (const plan of plans) for (const l of plan.layers) if (!wanted.has(l.diffID)) wanted.set(l.diffID, l);
    const unpin = await pin(p, [...wanted.keys(), ...[...wanted.values()].map((l) => src.info(l.path).digest)]);
    try {
      const records = new Map<string, LayerRecord>();
      const todo = [...wanted.values()];
      const worker = async () => {
        for (let l = todo.shift(); l; l = todo.shift()) records.set(l.diffID, await loadLayer(p, src, l));
      };
      await Promise.all([worker(), worker()]);
      const out: Loaded[] = [];
      for (const plan of plans) {
        const id = await commitImage(p, {
          config: plan.config,
          layers: plan.layers.map((l) => records.get(l.diffID)!),
          ...(plan.manifest ? { manifest: plan.manifest } : {}),
          source: `load of ${what}`,
          names: plan.names,
        });
        out.push({ id, names: plan.names });
      }
      return out;
    } finally {
      unpin();
    }
  } finally {
    removeHostTree(scratch);
    undo();
  }
}

async function loadLayer(p: StorePaths, src: Source, l: PlannedLayer): Promise<LayerRecord> {
  const have = readLayer(p, l.diffID);
  if (have) return have;
  const info = src.info(l.path);
  if (l.descriptor) {
    checkDigest(l.descriptor.digest, src.what);
    if (info.digest !== l.descriptor.digest || info.size !== l.descriptor.size) fail(src.what, `the layer blob ${l.descriptor.digest} does not match its digest or size`);
  }
  return ensureLayer(p, l.diffID, l.diffID, async () => {
    const { head, stream } = await peek(src.open(l.path), 8);
    const compression = detectCompression(head);
    const mediaType = { gzip: MEDIA.ociLayerGzip, zstd: MEDIA.ociLayerZstd, none: MEDIA.ociLayer, xz: MEDIA.boxXz }[compression];
    return {
      bytes: stream,
      blob: () => {
        src.adopt(l.path, p);
        return { digest: info.digest, mediaType, size: info.size };
      },
    };
  }, { label: `layer ${l.diffID} of ${src.what}` });
}

export { familiar };
