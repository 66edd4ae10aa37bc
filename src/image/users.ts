/**
 * Which containers use which images. The container core owns containers; the image side asks
 * through these callbacks, and the defaults below read the container store the way box run
 * writes it today (a container's `imageDigest`: an image ID's hex digits, or the digest an older
 * box stored the image under).
 */
import { listContainers, statusOf } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { hexOf } from "./digest";
import { readRecord, listImageIds, type StorePaths } from "./store";

/** The containers (short IDs) that keep `imageId` from being removed without -f. */
export type InUse = (imageId: string) => string[];

/** Maps what a container records of its image (an ID, its hex, or an older box's digest) to image IDs. */
export function imageIdsOf(p: StorePaths, recorded: Iterable<string>): Set<string> {
  const wanted = new Set<string>();
  for (const r of recorded) wanted.add(r.startsWith("sha256:") ? r : `sha256:${r}`);
  const out = new Set<string>();
  for (const id of listImageIds(p)) {
    const legacy = readRecord(p, id)?.legacyDigest;
    if (wanted.has(id) || (legacy && wanted.has(`sha256:${legacy}`))) out.add(id);
  }
  return out;
}

/** Today's rule: running or created containers keep their image. */
export function defaultInUse(layout: Layout, p: StorePaths): InUse {
  const live = listContainers(layout).filter((c) => c.imageDigest && ["running", "created"].includes(statusOf(layout, c)));
  return (imageId) => live.filter((c) => imageIdsOf(p, [c.imageDigest!]).has(imageId)).map((c) => shortId(c.id));
}

/** Every image any container (in any state) still refers to: a collection keeps them. */
export function imagesOfContainers(layout: Layout, p: StorePaths): Set<string> {
  return imageIdsOf(p, listContainers(layout).flatMap((c) => (c.imageDigest ? [c.imageDigest] : [])));
}

export { hexOf };
