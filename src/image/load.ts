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
import { mkdirSync, mkdtempSync, statSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { removeHostTree } from "../fs/dir";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { detectCompression, fileBytes, peek, type Bytes } from "./archive";
import { dirSource, fail, MAX_JSON, tarSource, type Source } from "./load-sources";
import { parseConfig } from "./config";
import { checkDigest, hasher, hexOf, sha256 } from "./digest";
import { checkLayerType, MT, parseManifest, pickPlatform, type Descriptor } from "./oci";
import { familiar, parseReference, tagName } from "./reference";
import { commitImage, openStore, pin, type StorePaths } from "./store";
import { ensureLayer, MEDIA, readLayer, type LayerRecord } from "./store/layers";

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
    return await loadSource(p, src);
  } finally {
    removeHostTree(scratch);
    undo();
  }
}

/**
 * Loads every image of a source (an archive's files, a layout directory, or the images a packed
 * box carries): every layer once, checked against its diffID (and, OCI, its descriptor), then the
 * images, each appearing only once all of its layers are in.
 */
export async function loadSource(p: StorePaths, src: Source): Promise<Loaded[]> {
  let plans: Planned[];
  if (src.has("manifest.json")) plans = planDocker(src);
  else if (src.has("index.json")) plans = planOci(src);
  else fail(src.what, "it has neither manifest.json (docker save) nor index.json (OCI)");
  if (plans.length === 0) fail(src.what, "it holds no image");

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
        source: `load of ${src.what}`,
        names: plan.names,
      });
      out.push({ id, names: plan.names });
    }
    return out;
  } finally {
    unpin();
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
