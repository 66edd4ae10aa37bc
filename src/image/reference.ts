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

export type ImageSource = { kind: "image"; ref: ImageRef } | { kind: "directory"; path: string };

export interface ImageAndCommand {
  image: ImageSource;
  command: string[];
}

/**
 * docker's `run [IMAGE] [COMMAND...]` with IMAGE optional. The first word is the image when it is:
 *   - a known image name, with or without a tag (`alpine`, `alpine:3.19`, a name in the store), or
 *   - a path to a directory (it contains a '/', and is a directory): that directory is the rootfs.
 * Anything else is the command, run in the default image (alpine:latest). `--` before the words
 * forces that reading: `box run -- alpine` runs a command called alpine.
 * With --rootfs every word is the command.
 */
export function splitImageAndCommand(
  words: readonly string[],
  opts: { rootfs?: string; forcedCommand?: boolean; isDirectory: (path: string) => boolean; isStored?: (name: string) => boolean },
): ImageAndCommand {
  if (opts.rootfs !== undefined) return { image: { kind: "directory", path: opts.rootfs }, command: [...words] };
  const defaultImage = { kind: "image", ref: { name: EMBEDDED_ALPINE.name, tag: EMBEDDED_ALPINE.version } } as const;
  const first = words[0];
  if (first === undefined || opts.forcedCommand) return { image: defaultImage, command: [...words] };
  const ref = parseRef(first);
  if (ref && (ref.name === EMBEDDED_ALPINE.name || opts.isStored?.(ref.name))) return { image: { kind: "image", ref }, command: words.slice(1) };
  if (first.includes("/") && opts.isDirectory(first)) return { image: { kind: "directory", path: first }, command: words.slice(1) };
  return { image: defaultImage, command: [...words] };
}
