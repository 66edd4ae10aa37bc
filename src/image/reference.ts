import { BoxError } from "../errors";
import { EMBEDDED_ALPINE } from "./alpine";

export interface ImageRef {
  name: string;
  tag: string;
}

const REF = /^([a-z0-9]+(?:[._-][a-z0-9]+)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?$/;

/** Parses NAME[:TAG]; undefined when the word cannot be an image reference at all. */
export function parseRef(word: string): ImageRef | undefined {
  const m = REF.exec(word);
  if (!m) return undefined;
  return { name: m[1]!, tag: m[2] ?? "latest" };
}

export function formatRef(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}`;
}

/** Images box knows by name. Today that is the embedded Alpine; the store adds more later. */
export function isKnownImageName(name: string): boolean {
  return name === EMBEDDED_ALPINE.name;
}

export type ImageSource =
  | { kind: "embedded"; ref: ImageRef }
  | { kind: "directory"; path: string };

/** Resolves a reference to something box can run, or says why not. */
export function resolveRef(ref: ImageRef): ImageSource {
  if (ref.name === EMBEDDED_ALPINE.name && (EMBEDDED_ALPINE.tags as readonly string[]).includes(ref.tag)) {
    return { kind: "embedded", ref: { name: ref.name, tag: EMBEDDED_ALPINE.version } };
  }
  throw new BoxError(
    `image ${formatRef(ref)} is not available: this box carries alpine:${EMBEDDED_ALPINE.version} ` +
      `(also known as ${EMBEDDED_ALPINE.tags.filter((t) => t !== EMBEDDED_ALPINE.version).map((t) => "alpine:" + t).join(", ")}), and cannot pull other images yet`,
  );
}

export interface ImageAndCommand {
  image: ImageSource;
  command: string[];
}

/**
 * docker's `run [IMAGE] [COMMAND...]` with IMAGE optional. The first word is the image when it is:
 *   - a known image name, with or without a tag (`alpine`, `alpine:3.20.3`), or
 *   - a path to a directory (it contains a '/', and is a directory): that directory is the rootfs.
 * Anything else is the command, run in the default image (alpine:latest). `--` before the words
 * forces that reading: `box run -- alpine` runs a command called alpine.
 * With --rootfs every word is the command.
 */
export function splitImageAndCommand(
  words: readonly string[],
  opts: { rootfs?: string; forcedCommand?: boolean; isDirectory: (path: string) => boolean },
): ImageAndCommand {
  if (opts.rootfs !== undefined) return { image: { kind: "directory", path: opts.rootfs }, command: [...words] };
  const defaultImage = { kind: "embedded", ref: { name: EMBEDDED_ALPINE.name, tag: EMBEDDED_ALPINE.version } } as const;
  const first = words[0];
  if (first === undefined || opts.forcedCommand) return { image: defaultImage, command: [...words] };
  const ref = parseRef(first);
  if (ref && isKnownImageName(ref.name)) return { image: resolveRef(ref), command: words.slice(1) };
  if (first.includes("/") && opts.isDirectory(first)) return { image: { kind: "directory", path: first }, command: words.slice(1) };
  return { image: defaultImage, command: [...words] };
}
