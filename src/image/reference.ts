/**
 * Image references, normalised as docker normalises them:
 *   nginx                     -> docker.io/library/nginx:latest
 *   python:3.12               -> docker.io/library/python:3.12
 *   bitnami/redis             -> docker.io/bitnami/redis:latest
 *   ghcr.io/o/r@sha256:...    -> ghcr.io/o/r@sha256:...
 *   127.0.0.1:5000/app:1      -> 127.0.0.1:5000/app:1
 * The first component is a registry when it contains '.' or ':' or is "localhost"; otherwise the
 * image is on docker.io, and a single-component name is in docker.io's "library". The familiar
 * form (what `box images` shows, as docker does) drops "docker.io/library/" and "docker.io/".
 */
import { EMBEDDED_ALPINE } from "./alpine";

export interface Reference {
  /** "docker.io", "127.0.0.1:5000", "ghcr.io". */
  registry: string;
  /** "library/alpine". */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const IPV6 = /^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const DOCKER_HUB = "docker.io";

/** Parses a reference; undefined when the word cannot be one. */
export function parseReference(word: string): Reference | undefined {
  if (word.length === 0 || word.length > 512) return undefined;
  let rest = word;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  const parts = rest.split("/");
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first.toLowerCase() !== first)) {
    if (!DOMAIN.test(first) && !IPV6.test(first)) return undefined;
    registry = first === "index.docker.io" || first === "registry-1.docker.io" ? DOCKER_HUB : first;
    parts.shift();
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) return undefined;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library");
  const repository = parts.join("/");
  if (registry.length + 1 + repository.length > 255) return undefined;
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** "docker.io/library/alpine". */
export function repoName(r: Reference): string {
  return `${r.registry}/${r.repository}`;
}

/** The full reference, tagged latest when it has neither tag nor digest. */
export function fullName(r: Reference): string {
  if (r.digest) return `${repoName(r)}${r.tag ? `:${r.tag}` : ""}@${r.digest}`;
  return `${repoName(r)}:${r.tag ?? "latest"}`;
}

/** A tag reference ("docker.io/library/alpine:3.20"): what a name in the store is. */
export function tagName(r: Reference): string {
  return `${repoName(r)}:${r.tag ?? "latest"}`;
}

/** docker's short form of a normalised name: "alpine:3.20", "bitnami/redis:7", "ghcr.io/o/r:1". */
export function familiar(name: string): string {
  if (name.startsWith("docker.io/library/")) return name.slice("docker.io/library/".length);
  if (name.startsWith("docker.io/")) return name.slice("docker.io/".length);
  return name;
}

/** Splits a stored tag name into repository and tag. */
export function splitTag(name: string): { repository: string; tag: string } {
  const i = name.lastIndexOf(":");
  return i > name.lastIndexOf("/") ? { repository: name.slice(0, i), tag: name.slice(i + 1) } : { repository: name, tag: "latest" };
}

// ---- The short form `box run` has used so far (still what src/commands/run.ts takes) ----

export interface ImageRef {
  /** The familiar repository name ("alpine", "bitnami/redis", "127.0.0.1:5000/app"). */
  name: string;
  tag: string;
  digest?: string;
}

/** Parses NAME[:TAG][@DIGEST] into its familiar form; undefined when the word cannot be a reference. */
export function parseRef(word: string): ImageRef | undefined {
  const r = parseReference(word);
  if (!r) return undefined;
  return { name: familiar(repoName(r)), tag: r.tag ?? "latest", ...(r.digest ? { digest: r.digest } : {}) };
}

export function formatRef(ref: ImageRef): string {
  return ref.digest ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag}`;
}

/** The normalised reference of a short one. */
export function referenceOf(ref: ImageRef): Reference {
  const r = parseReference(formatRef(ref));
  if (!r) throw new Error(`not a reference: ${formatRef(ref)}`);
  if (ref.digest && ref.tag !== "latest") r.tag = ref.tag;
  return r;
}

/** A word written as an image reference on purpose: with a tag, a digest, or a registry or namespace. */
export function isExplicitReference(word: string): boolean {
  return parseReference(word) !== undefined && /[:@/]/.test(word);
}

export type ImageSource = { kind: "image"; ref: ImageRef } | { kind: "directory"; path: string };

export interface ImageAndCommand {
  image: ImageSource;
  command: string[];
}

/**
 * docker's `run [IMAGE] [COMMAND...]` with IMAGE optional. The first word is the image when it is:
 *   - a path to a directory (it contains a '/', and is a directory): that directory is the rootfs;
 *   - a reference written as one: with a tag, a digest, a registry or a namespace
 *     (`python:3.12`, `docker.io/library/python`, `bitnami/redis`);
 *   - a bare name of an image in the store, or alpine (the embedded image).
 * Anything else is the command, run in the default image (alpine:3.20.3). `--` before the words
 * forces that reading: `box run -- alpine` runs a command called alpine. With --rootfs every word
 * is the command. (src/image/run.ts's resolveImageWord makes the full decision, with the default
 * image's PATH; this is the synchronous part of it.)
 */
export function splitImageAndCommand(
  words: readonly string[],
  opts: { rootfs?: string; forcedCommand?: boolean; isDirectory: (path: string) => boolean; isStored?: (name: string) => boolean },
): ImageAndCommand {
  if (opts.rootfs !== undefined) return { image: { kind: "directory", path: opts.rootfs }, command: [...words] };
  const defaultImage = { kind: "image", ref: { name: EMBEDDED_ALPINE.name, tag: EMBEDDED_ALPINE.version } } as const;
  const first = words[0];
  if (first === undefined || opts.forcedCommand) return { image: defaultImage, command: [...words] };
  if (first.includes("/") && opts.isDirectory(first)) return { image: { kind: "directory", path: first }, command: words.slice(1) };
  const ref = parseRef(first);
  if (ref && (isExplicitReference(first) || ref.name === EMBEDDED_ALPINE.name || opts.isStored?.(ref.name))) {
    return { image: { kind: "image", ref }, command: words.slice(1) };
  }
  return { image: defaultImage, command: [...words] };
}
