/**
 * Which containers use which images. The container core owns containers; the image side asks
 * through these callbacks, and the defaults below read the container store the way the core
 * writes it today (a container's `imageId`: an image ID's hex digits, or the digest an older box
 * stored the image under).
 */
import { statusOf } from "../container/state";
import { listContainers, type ContainerRecord } from "../store/containers";
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
function records(layout: Layout): ContainerRecord[] {
  return listContainers(layout).flatMap((l) => ("record" in l ? [l.record] : []));
}

export function defaultInUse(layout: Layout, p: StorePaths): InUse {
  const live = records(layout).filter((c) => c.imageId && ["running", "created"].includes(statusOf(layout, c)));
  return (imageId) => live.filter((c) => imageIdsOf(p, [c.imageId!]).has(imageId)).map((c) => shortId(c.id));
}

/** Every image any container (in any state) still refers to: a collection keeps them. */
export function imagesOfContainers(layout: Layout, p: StorePaths): Set<string> {
  return imageIdsOf(p, records(layout).flatMap((c) => (c.imageId ? [c.imageId] : [])));
}

export { hexOf };
