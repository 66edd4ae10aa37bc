// OCI image layouts built by the tests: layers from entries (or the Alpine fixture), compressed
// with gzip, zstd or not at all, configs, manifests, and an index (several platforms if asked).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync, zstdCompressSync } from "node:zlib";
import { ALPINE_TARBALL } from "../e2e/harness";
import { tarOf, type Entry } from "./helpers";

export const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");

export type Compression = "gzip" | "zstd" | "none";

export interface Layer {
  /** The uncompressed tar. */
  tar: Buffer;
  blob: Buffer;
  mediaType: string;
  diffID: string;
  digest: string;
}

export function layerOf(tar: Buffer, compression: Compression, gzipped?: Buffer): Layer {
  const blob = compression === "gzip" ? gzipped ?? gzipSync(tar) : compression === "zstd" ? zstdCompressSync(tar) : tar;
  const mediaType = "application/vnd.oci.image.layer.v1.tar" + (compression === "gzip" ? "+gzip" : compression === "zstd" ? "+zstd" : "");
  return { tar, blob, mediaType, diffID: sha(tar), digest: sha(blob) };
}

export async function entriesLayer(entries: Entry[], compression: Compression): Promise<Layer> {
  return layerOf(await tarOf(entries), compression);
}

/** The Alpine fixture as a layer, its gzip bytes as they are. */
export function alpineLayer(): Layer {
  const gz = readFileSync(ALPINE_TARBALL);
  return layerOf(gunzipSync(gz), "gzip", gz);
}

export interface ImageSpec {
  layers: Layer[];
  config?: Record<string, unknown>;
  architecture?: string;
  /** org.opencontainers.image.ref.name in the index. */
  refName?: string;
  created?: string;
}

export interface Built {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

function put(dir: string, data: Buffer): string {
  const d = sha(data);
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  writeFileSync(join(dir, "blobs/sha256", d.slice(7)), data);
  return d;
}

export function buildImage(dir: string, spec: ImageSpec): Built {
  const config = Buffer.from(JSON.stringify({
    created: spec.created ?? "2025-01-02T03:04:05Z",
    architecture: spec.architecture ?? "amd64",
    os: "linux",
    config: spec.config ?? { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: spec.layers.map((l) => l.diffID) },
    history: spec.layers.map(() => ({ created_by: "test" })),
  }));
  const configDigest = put(dir, config);
  for (const l of spec.layers) put(dir, l.blob);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: spec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  }));
  return { config, configDigest, manifest, manifestDigest: put(dir, manifest) };
}

/** Writes an OCI layout: one index entry per image (or one nested index for several platforms). */
export function writeLayout(dir: string, imgs: ImageSpec[], opts: { multiPlatform?: { refName: string } } = {}): Built[] {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const built = imgs.map((s) => buildImage(dir, s));
  let manifests;
  if (opts.multiPlatform) {
    const inner = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: built.map((b, i) => ({
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: b.manifestDigest,
        size: b.manifest.length,
        platform: { architecture: imgs[i]!.architecture ?? "amd64", os: "linux", ...(imgs[i]!.architecture === "arm" ? { variant: "v7" } : {}) },
      })),
    }));
    manifests = [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: put(dir, inner), size: inner.length, annotations: { "org.opencontainers.image.ref.name": opts.multiPlatform.refName } }];
  } else {
    manifests = built.map((b, i) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: b.manifestDigest,
      size: b.manifest.length,
      ...(imgs[i]!.refName ? { annotations: { "org.opencontainers.image.ref.name": imgs[i]!.refName } } : {}),
    }));
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }));
  return built;
}

/** The multi-layer test image: Alpine, then a zstd layer, then a plain one, exercising every kind of change. */
export async function layeredImage(opts: { zstd?: boolean } = {}): Promise<ImageSpec> {
  const base = alpineLayer();
  const two = await entriesLayer([
    { name: "opt/", type: "directory", mode: 0o755 },
    { name: "opt/app/", type: "directory", mode: 0o755 },
    { name: "opt/app/data", type: "file", mode: 0o644, body: "layer two\n", pax: { "SCHILY.xattr.user.box": "kept" } },
    { name: "opt/app/hard", type: "link", linkname: "opt/app/data" },
    { name: "opt/app/suid", type: "file", mode: 0o4755, body: "#!/bin/sh\necho suid\n" },
    { name: "opt/app/link", type: "symlink", linkname: "data" },
    { name: "etc/", type: "directory", mode: 0o755 },
    { name: "etc/.wh.motd", type: "file" },
    { name: "var/", type: "directory", mode: 0o755 },
    { name: "var/cache/", type: "directory", mode: 0o755 },
    { name: "var/cache/old-a", type: "file", body: "a" },
    { name: "var/cache/old-b", type: "file", body: "b" },
  ], opts.zstd === false ? "gzip" : "zstd");
  const three = await entriesLayer([
    { name: "var/", type: "directory", mode: 0o755 },
    { name: "var/cache/", type: "directory", mode: 0o700 },
    { name: "var/cache/.wh..wh..opq", type: "file" },
    { name: "var/cache/new", type: "file", body: "only me\n" },
    { name: "opt/app/.wh.link", type: "file" },
    { name: "etc/issue", type: "file", mode: 0o644, body: "layer three\n" },
  ], "none");
  return {
    layers: [base, two, three],
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LAYERED=yes"], Cmd: ["/bin/sh"], WorkingDir: "/opt/app", Labels: { test: "layered" } },
    refName: "layered:1",
  };
}
