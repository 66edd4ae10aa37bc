/**
 * What the container commands (inspect, ps, system df/prune, info, completion) need of the image
 * store, in one place: the image store's own functions (src/image), put in the terms those
 * commands use. Image IDs are "sha256:<hex>"; names are shown as docker shows them (alpine:3.20).
 */
import { inspectImage } from "../image/inspect";
import { removeImageRef } from "../image/remove";
import { EMBEDDED_ALPINE } from "../image/alpine";
import { familiar, parseReference } from "../image/reference";
import { collectGarbage, findImageId, imageSize, listImageIds, loadImage, namesOf, openStore, peekStore, readImageConfig } from "../image/store";
import { listRefs } from "../image/store/refs";
import { imageIdsOf } from "../image/users";
import type { Layout } from "../store/layout";
import { imagesOfContainers } from "./rmi";

export interface ImageSummary {
  id: string;
  names: string[];
  size: number;
  created: string;
}

/** The images of the store, each with its names. */
export function listImages(layout: Layout): ImageSummary[] {
  const p = peekStore(layout);
  const refs = listRefs(p);
  return listImageIds(p).map((id) => {
    const image = loadImage(p, id);
    return { id, names: namesOf(p, id, refs).map(familiar), size: image ? imageSize(image) : 0, created: readImageConfig(p, id)?.created ?? "" };
  });
}

/** The image a container records (its imageId, in whichever form box wrote it), if still stored. */
export function imageOf(layout: Layout, recorded: string | undefined): string | undefined {
  if (!recorded) return undefined;
  return [...imageIdsOf(peekStore(layout), [recorded])][0];
}

/** The run config (Entrypoint, Cmd, ExposedPorts, ...) of an image a container records. */
export function configOf(layout: Layout, recorded: string | undefined): { Entrypoint?: string[]; Cmd?: string[]; ExposedPorts?: Record<string, Record<string, never>> } | undefined {
  const id = imageOf(layout, recorded);
  return id ? readImageConfig(peekStore(layout), id)?.config : undefined;
}

/** Bytes of an image a container records. */
export function sizeOf(layout: Layout, recorded: string | undefined): number {
  const id = imageOf(layout, recorded);
  const image = id ? loadImage(peekStore(layout), id) : undefined;
  return image ? imageSize(image) : 0;
}

/** The image ID a word names (a name, an ID or an ID prefix; alpine:latest and the other embedded
 * tags name the embedded Alpine when the store has no image of that name), or undefined. */
export function findImage(layout: Layout, word: string): string | undefined {
  const p = peekStore(layout);
  try {
    const found = findImageId(p, word)?.id;
    if (found) return found;
    const ref = parseReference(word);
    const embedded = ref && !ref.digest && ref.registry === "docker.io" && ref.repository === `library/${EMBEDDED_ALPINE.name}` && (EMBEDDED_ALPINE.tags as readonly string[]).includes(ref.tag ?? "latest");
    return embedded ? findImageId(p, `${EMBEDDED_ALPINE.name}:${EMBEDDED_ALPINE.version}`)?.id : undefined;
  } catch {
    return undefined; // an ambiguous prefix names no one image
  }
}

/** docker's image-inspect document (the image store's box inspect hook). */
export function imageDoc(layout: Layout, word: string): unknown {
  return inspectImage(layout, word);
}

/** system prune -a: every image no container uses, names and data; what went, and its bytes. */
export async function pruneUnusedImages(layout: Layout): Promise<{ lines: string[]; bytes: number }> {
  const p = await openStore(layout);
  const used = imagesOfContainers(layout, p);
  const out = { lines: [] as string[], bytes: 0 };
  for (const id of listImageIds(p)) {
    if (used.has(id)) continue;
    const image = loadImage(p, id);
    out.lines.push(...(await removeImageRef(p, id, true, () => [])));
    out.bytes += image ? imageSize(image) : 0;
  }
  await collectGarbage(p, used);
  return out;
}
