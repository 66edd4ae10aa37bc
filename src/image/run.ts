/**
 * What `box run` needs from the image side (the container core calls these).
 *
 * The image-or-command rule for `box run [IMAGE] [COMMAND...]`, IMAGE optional (resolveImageWord):
 *   1. --rootfs: every word is the command; `--` before the words: they are the command, in the
 *      default image (alpine:3.20.3, embedded);
 *   2. a word with '/' naming a directory on the host: that directory is the root;
 *   3. an image in the store, named any way docker names it (alpine, alpine:latest,
 *      docker.io/library/alpine, alpine@sha256:..., an image ID: "sha256:<hex>" or at least 12
 *      of its hex digits);
 *   4. alpine with one of the embedded tags (latest, 3, 3.20, 3.20.3): the embedded image;
 *   5. a reference written as one (a tag, a digest, a registry or a namespace: python:3.12,
 *      docker.io/library/python, bitnami/redis): an image, pulled if missing;
 *   6. a command of the default image: a path (/bin/ls, ./x) or a name found in its PATH;
 *   7. any other bare name (nginx): an image, pulled if missing; when it cannot be pulled the
 *      sentence says both things: "box: nginx is not a command in alpine:3.20.3, and pulling it
 *      as an image failed: ...". With --pull never: "box: nginx is not an image here (box pull
 *      nginx) nor a command in alpine:3.20.3". Exit 125 either way, never "command not found".
 *
 * Pull policy (--pull, as docker's): missing (default: pull what is not in the store), always
 * (pull every time; a registry image), never (only what is in the store or embedded).
 */
import { BoxError } from "../errors";
import type { Layout } from "../store/layout";
import { EMBEDDED_ALPINE } from "./alpine";
import type { RunConfig } from "./config";
import { DEFAULT_PATH } from "./config";
import { hexOf } from "./digest";
import { obtainEmbedded, pullAlpine, pullOptions } from "./alpine-images";
import { isExplicitReference, parseReference, type Reference } from "./reference";
import { findCarried, selfPack } from "./pack/carried";
import { statImagePath } from "./rootfs";
import { findImage, findImageId, loadImage, lowerDirs, openStore, type StoredImage } from "./store";
import { storePaths } from "./store/paths";

export type PullPolicy = "missing" | "always" | "never";

export function checkPullPolicy(v: string | undefined): PullPolicy {
  const p = v ?? "missing";
  if (p !== "missing" && p !== "always" && p !== "never") throw new BoxError(`invalid --pull "${p}": use missing, always or never`);
  return p;
}

/** The image a container runs on. */
export interface RunImage {
  /** The image ID, "sha256:<hex>". */
  id: string;
  /** The image as docker shows it in ps: the name as given (familiar), or the short ID. */
  name: string;
  /** Overlay lowerdirs, top first: absolute paths (short links <images>/l/<short>). */
  layers: string[];
  /** The directory of those links, and the links' names in it, top first: mounting from inside
   * it with relative lowerdirs keeps the mount options short for images of many layers. */
  layerRoot: string;
  shortLayers: string[];
  /** The image's defaults for a container. */
  config: RunConfig;
}

const DEFAULT_WORD = `${EMBEDDED_ALPINE.name}:${EMBEDDED_ALPINE.version}`;

function isEmbeddedTag(ref: Reference | undefined): boolean {
  return !!ref && !ref.digest && ref.registry === "docker.io" && ref.repository === `library/${EMBEDDED_ALPINE.name}` && (EMBEDDED_ALPINE.tags as readonly string[]).includes(ref.tag ?? "latest");
}

function runImage(layout: Layout, image: StoredImage, name: string): RunImage {
  const p = storePaths(layout);
  const layers = lowerDirs(p, image);
  return {
    id: image.record.id,
    name,
    layers,
    layerRoot: p.links,
    shortLayers: image.layers.map((l) => l.short).reverse(),
    config: image.config.config,
  };
}

/** An image ID as a person may type it in place of an image: the full ID, or 12+ hex digits. */
function looksLikeId(word: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(word) || /^[0-9a-f]{12,64}$/.test(word);
}

export interface ImageForRunOptions {
  /** The word was not a command of the default image either: a failed pull says so too. */
  orCommandIn?: string;
  /** --insecure-registry, --timeout (else from the environment). */
  insecure?: readonly string[];
  timeout?: string;
}

/**
 * The image `word` names, complete in the store, pulled as the policy says. Sentences:
 *   never, not here:  "X is not an image here (box pull X)"
 *   the pull failed:  "X is not an image here, and pulling it failed: <why>"
 */
export async function imageForRun(layout: Layout, word: string, policy: PullPolicy, opts: ImageForRunOptions = {}): Promise<RunImage> {
  const p = await openStore(layout);
  const ref = parseReference(word);
  if (policy !== "always" || !ref) {
    const found = findImage(p, word, looksLikeId(word) ? 12 : Number.POSITIVE_INFINITY);
    if (found) return runImage(layout, found.image, ref ? word : hexOf(found.image.record.id).slice(0, 12));
    // A packed box's own images (box pack): into the store the first time they are used.
    const pack = selfPack();
    const carried = pack && findCarried(pack, word) ? await (await import("./pack/use")).obtainCarried(layout, pack, word) : undefined;
    const image = carried && loadImage(p, carried);
    if (image) return runImage(layout, image, ref ? word : hexOf(image.record.id).slice(0, 12));
    if (isEmbeddedTag(ref)) return runImage(layout, (await obtainEmbedded(layout)).image, word);
  }
  const notHere = opts.orCommandIn ? `${word} is not a command in ${opts.orCommandIn}` : `${word} is not an image here`;
  if (!ref) throw new BoxError(opts.orCommandIn ? `${word} is neither an image here nor a command in ${opts.orCommandIn}` : `no such image: ${word}`);
  if (policy === "never") {
    throw new BoxError(opts.orCommandIn ? `${word} is not an image here (box pull ${word}) nor a command in ${opts.orCommandIn}` : `${notHere} (box pull ${word})`);
  }
  let id: string;
  try {
    if (ref.repository === `library/${EMBEDDED_ALPINE.name}` && ref.registry === "docker.io" && !ref.digest && process.env.BOX_ALPINE_MIRROR) {
      id = (await pullAlpine(layout, { name: "alpine", tag: ref.tag ?? "latest" }, pullOptions(undefined, opts.timeout))).image.record.id;
    } else {
      const { pullImage, registryOptions } = await import("./registry/pull");
      id = await pullImage(layout, ref, registryOptions({ timeout: opts.timeout, insecure: opts.insecure ?? [] }));
    }
  } catch (err) {
    if (!(err instanceof BoxError)) throw err;
    throw new BoxError(`${notHere}, and pulling it${opts.orCommandIn ? " as an image" : ""} failed: ${err.message}`);
  }
  const image = loadImage(p, id);
  if (!image) throw new BoxError(`the image ${word} vanished from the store right after it was pulled (a concurrent box rmi?): try again`);
  return runImage(layout, image, word);
}

export type ImageWord =
  | { kind: "image"; word: string; command: string[]; orCommandIn?: string }
  | { kind: "directory"; path: string; command: string[] }
  | { kind: "default"; word: string; command: string[] };

export interface WordOptions {
  rootfs?: string;
  /** `--` came before the words. */
  forcedCommand?: boolean;
  isDirectory(path: string): boolean;
}

/** The default image's PATH directories. */
function pathOf(config: RunConfig): string[] {
  const env = config.Env?.find((e) => e.startsWith("PATH="));
  return (env ? env.slice(5) : DEFAULT_PATH).split(":").filter((d) => d.startsWith("/"));
}

/** Whether name is a command in the image: a regular file in one of its PATH directories. */
export function isCommandIn(image: RunImage, name: string): boolean {
  if (name.includes("/")) return statImagePath(image, name)?.type === "file";
  return pathOf(image.config).some((dir) => statImagePath(image, `${dir}/${name}`)?.type === "file");
}

let embeddedCommands: Set<string> | undefined;

/** Whether name is a command of the embedded Alpine (the default image): from the list the build
 * made of it (scripts/build.ts), without unpacking or reading the image. */
async function isEmbeddedCommand(name: string): Promise<boolean> {
  if (!embeddedCommands) {
    const { embedded } = await import("../embedded");
    embeddedCommands = new Set((await Bun.file(embedded.alpineCommandsPath).text()).split("\n").filter(Boolean));
  }
  return embeddedCommands.has(name);
}

/** The image-or-command decision (see the top of this file). */
export async function resolveImageWord(layout: Layout, words: readonly string[], opts: WordOptions): Promise<ImageWord> {
  if (opts.rootfs !== undefined) return { kind: "directory", path: opts.rootfs, command: [...words] };
  const first = words[0];
  if (first === undefined || opts.forcedCommand) return { kind: "default", word: DEFAULT_WORD, command: [...words] };
  const rest = words.slice(1);
  if (first.includes("/") && opts.isDirectory(first)) return { kind: "directory", path: first, command: rest };
  const ref = parseReference(first);
  const p = storePaths(layout);
  try {
    if ((ref || looksLikeId(first)) && findImageId(p, first, looksLikeId(first) ? 12 : Number.POSITIVE_INFINITY)) return { kind: "image", word: first, command: rest };
  } catch (err) {
    if (!(err instanceof BoxError)) throw err; // an ambiguous ID prefix: not taken as an image
  }
  const pack = selfPack(); // a packed box's images count as in the store (a damaged one is refused)
  if (pack && findCarried(pack, first)) return { kind: "image", word: first, command: rest };
  if (isEmbeddedTag(ref) || (ref && isExplicitReference(first) && !first.startsWith("."))) return { kind: "image", word: first, command: rest };
  if (first.startsWith("/") || first.startsWith(".")) return { kind: "default", word: DEFAULT_WORD, command: [...words] };
  if (await isEmbeddedCommand(first)) return { kind: "default", word: DEFAULT_WORD, command: [...words] };
  if (!ref) throw new BoxError(`${first} is neither an image here nor a command in ${DEFAULT_WORD}`);
  return { kind: "image", word: first, command: rest, orCommandIn: DEFAULT_WORD };
}

// ---- The image's defaults applied, as docker applies them ----

/**
 * The container's argv: ENTRYPOINT then CMD, where the command given on the line replaces CMD,
 * and --entrypoint replaces ENTRYPOINT (and drops the image's CMD, as docker does; "" means no
 * entrypoint). Empty when the image says nothing and nothing was given (box then runs /bin/sh).
 */
export function argvFor(config: RunConfig, args: readonly string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === "" ? [] : [entrypoint]) : (config.Entrypoint ?? []);
  const cmd = args.length > 0 ? [...args] : entrypoint !== undefined ? [] : (config.Cmd ?? []);
  return [...ep, ...cmd];
}

/** The environment: the image's, then -e on top (same name: -e wins); PATH always set. */
export function envFor(config: RunConfig, given: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...(config.Env ?? []), ...given]) {
    const i = e.indexOf("=");
    out.set(i < 0 ? e : e.slice(0, i), e);
  }
  if (!out.has("PATH")) out.set("PATH", `PATH=${DEFAULT_PATH}`);
  return [...out.values()];
}

export { listImageDir, readImageFile, statImagePath } from "./rootfs";
