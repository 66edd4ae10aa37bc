/**
 * Manifests and indexes, OCI and docker schema 2 alike, checked field by field: they come from
 * registries and archives nobody vouches for. Docker schema 1 is refused by name.
 */
import { BoxError } from "../errors";
import { jsonObject, obj } from "./json";
import { checkDigest } from "./digest";

export const MT = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  schema1: "application/vnd.docker.distribution.manifest.v1+json",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** What box asks a registry for, best first. */
export const ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest, MT.schema1Signed, MT.schema1].join(", ");

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export type Parsed =
  | { kind: "index"; mediaType: string; manifests: Descriptor[] }
  | { kind: "manifest"; mediaType: string; config: Descriptor; layers: Descriptor[] };

function descriptor(v: unknown, what: string): Descriptor {
  const d = obj(v);
  if (!d) throw new BoxError(`${what} is damaged: a descriptor is not an object`);
  if (typeof d.mediaType !== "string") throw new BoxError(`${what} is damaged: a descriptor has no mediaType`);
  const digest = checkDigest(d.digest, what);
  if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) throw new BoxError(`${what} is damaged: the size of ${digest} is not a number`);
  const out: Descriptor = { mediaType: d.mediaType, digest, size: d.size as number };
  const p = obj(d.platform);
  if (p && typeof p.architecture === "string" && typeof p.os === "string") {
    out.platform = { architecture: p.architecture, os: p.os, ...(typeof p.variant === "string" ? { variant: p.variant } : {}) };
  }
  const a = obj(d.annotations);
  if (a) out.annotations = Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === "string"));
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === "string");
  return out;
}

/**
 * Parses a manifest or an index. The kind comes from its mediaType field, else from the
 * Content-Type the registry gave, else from its shape.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): Parsed {
  const d = jsonObject(bytes, what);
  const ct = contentType?.split(";")[0]?.trim();
  const mediaType = typeof d.mediaType === "string" ? d.mediaType : ct && ct !== "application/json" ? ct : Array.isArray(d.manifests) ? MT.ociIndex : MT.ociManifest;
  if (d.schemaVersion === 1 || mediaType === MT.schema1 || mediaType === MT.schema1Signed) {
    throw new BoxError(`${what} is a docker schema 1 manifest, a format box does not support (it was deprecated in 2017): push the image again with a current docker or skopeo`);
  }
  if (d.schemaVersion !== 2) throw new BoxError(`${what} has schemaVersion ${String(d.schemaVersion)}; box reads version 2`);
  if (mediaType === MT.ociIndex || mediaType === MT.dockerList) {
    if (!Array.isArray(d.manifests)) throw new BoxError(`${what} is damaged: an index without manifests`);
    return { kind: "index", mediaType, manifests: d.manifests.map((m) => descriptor(m, what)) };
  }
  if (mediaType === MT.ociManifest || mediaType === MT.dockerManifest) {
    if (!Array.isArray(d.layers)) throw new BoxError(`${what} is damaged: a manifest without layers`);
    return { kind: "manifest", mediaType, config: descriptor(d.config, what), layers: d.layers.map((l) => descriptor(l, what)) };
  }
  throw new BoxError(`${what} is of type ${mediaType}, which is not an image manifest or index`);
}

export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** Attestations and signatures stored next to images in an index: not images to run. */
function isImage(d: Descriptor): boolean {
  if (d.annotations?.["vnd.docker.reference.type"]) return false;
  return d.platform === undefined || (d.platform.os !== "unknown" && d.platform.architecture !== "unknown");
}

/** The linux/amd64 image of an index; a sentence naming what is offered when there is none. */
export function pickPlatform(manifests: Descriptor[], what: string, want: Platform = { os: "linux", architecture: "amd64" }): Descriptor {
  const images = manifests.filter(isImage);
  const match = images.filter((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture);
  const pick = match.find((m) => !m.platform?.variant || m.platform.variant === "v1") ?? match[0];
  if (pick) return pick;
  if (images.length === 1 && !images[0]!.platform) return images[0]!;
  const offered = [...new Set(images.map((m) => (m.platform ? platformName(m.platform) : "an unnamed platform")))];
  throw new BoxError(`${what} has no ${platformName(want)} image: it offers ${offered.length ? offered.join(", ") : "no image at all"}`);
}

/** Layer media types box can unpack (the content says how it is compressed). */
export function checkLayerType(d: Descriptor, what: string): void {
  const t = d.mediaType;
  const ok =
    t.startsWith("application/vnd.oci.image.layer.") ||
    t === "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
    t === "application/vnd.docker.image.rootfs.diff.tar" ||
    t === "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
  if (!ok) throw new BoxError(`${what} has a layer of type ${t}, which is not a filesystem layer box can unpack`);
}
