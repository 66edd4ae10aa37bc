/**
 * What the container commands (inspect, ps -s, system df/prune, info, completion) need of the image
 * store, in one place: the image store's own functions plug in here (box inspect IMAGE uses its
 * inspectImage when it has one), so the container side does not follow the store's internals.
 */
import { join } from "node:path";
import { formatRef, parseRef } from "../image/reference";
import { listRefs, lookupRef, readMeta, removeImage, removeRef } from "../image/store";
import type { Layout } from "../store/layout";
import { goMap } from "../cli/template";
import { dirSize } from "./container-rows";

export interface ImageSummary {
  id: string;
  names: string[];
  size: number;
  created: string;
}

/** The images of the store, each with its names. */
export function listImages(layout: Layout): ImageSummary[] {
  const byId = new Map<string, ImageSummary>();
  for (const { ref, digest } of listRefs(layout)) {
    const meta = readMeta(layout, digest);
    const entry = byId.get(digest) ?? { id: digest, names: [], size: sizeOf(layout, digest), created: meta?.created ?? "" };
    entry.names.push(formatRef(ref));
    byId.set(digest, entry);
  }
  return [...byId.values()];
}

const sizes = new Map<string, number>();

/** Bytes an image takes on disk (its unpacked root). */
export function sizeOf(layout: Layout, id: string): number {
  let size = sizes.get(id);
  if (size === undefined) sizes.set(id, (size = dirSize(join(layout.images, id, "rootfs"))));
  return size;
}

/** The image a word names (NAME[:TAG], or an id or a unique prefix of one, with or without sha256:). */
export function findImage(layout: Layout, word: string): ImageSummary | undefined {
  const images = listImages(layout);
  const ref = parseRef(word);
  const byName = ref ? lookupRef(layout, ref) : undefined;
  if (byName) return images.find((i) => i.id === byName);
  const hex = word.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  const matches = images.filter((i) => i.id.startsWith(hex));
  return matches.length === 1 ? matches[0] : undefined;
}

/** docker's image-inspect document (the image store's own, once it has one). */
export function imageDoc(layout: Layout, word: string): Record<string, unknown> | undefined {
  const image = findImage(layout, word);
  if (!image) return undefined;
  return {
    Id: `sha256:${image.id}`,
    RepoTags: image.names,
    RepoDigests: [],
    Parent: "",
    Comment: "",
    Created: image.created,
    Author: "",
    Config: { Hostname: "", Domainname: "", User: "", Env: null, Cmd: ["/bin/sh"], Image: "", Volumes: null, WorkingDir: "", Entrypoint: null, OnBuild: null, Labels: goMap({}) },
    Architecture: "amd64",
    Os: "linux",
    Size: image.size,
    RootFS: { Type: "layers", Layers: [] },
  };
}

/** Removes an image's names and data (system prune -a: only images no container uses). */
export function removeUnusedImage(layout: Layout, image: ImageSummary): void {
  for (const name of image.names) {
    const ref = parseRef(name);
    if (ref) removeRef(layout, ref);
  }
  removeImage(layout, image.id);
  sizes.delete(image.id);
}
