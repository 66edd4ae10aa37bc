/** What the container core asks of the store today (src/cli/container-args.ts, src/container/start.ts). */
import { join } from "node:path";
import type { Layout } from "../../store/layout";
import { familiar, parseReference, repoName, splitTag } from "../reference";
import { storePaths, type StorePaths } from "./paths";
import { listImageIds, loadImage, namesOf, readRecord, type StoredImage } from "./records";
import { listRefs, type Ref } from "./refs";

// ---- What src/commands/run.ts asks today ----

/** Whether the store has an image whose familiar repository name is `name` (any tag). */
export function isNamed(layout: Layout, name: string): boolean {
  const p = storePaths(layout);
  const want = parseReference(name);
  if (!want) return false;
  const repo = repoName(want);
  return listRefs(p).some((r) => splitTag(r.name).repository === repo);
}

/**
 * What src/container/start.ts asks today: the overlay lowerdir option of an image by the ID
 * obtainForRun gave (its hex, or an older box's digest of it): its layers' short links, top
 * first, joined by ':'. One layer is one directory; an image of several layers needs the core to
 * take RunImage.layers from src/image/run.ts's imageForRun instead (a joined list is no path).
 * An image that is gone gives a path that does not exist.
 */
export function imageRootfs(layout: Layout, imageId: string): string {
  const p = storePaths(layout);
  const hex = imageId.startsWith("sha256:") ? imageId.slice(7) : imageId;
  let image = /^[0-9a-f]{64}$/.test(hex) ? loadImage(p, `sha256:${hex}`) : undefined;
  if (!image) {
    for (const id of listImageIds(p)) {
      if (readRecord(p, id)?.legacyDigest === hex) image = loadImage(p, id);
      if (image) break;
    }
  }
  if (!image) return join(p.links, `missing-${hex.slice(0, 12)}`);
  return image.layers.map((l) => join(p.links, l.short)).reverse().join(":");
}

/** Tag names pointing at the image, in docker's familiar form ("alpine:3.20"). */
export function familiarNames(p: StorePaths, id: string, refs?: Ref[]): string[] {
  return namesOf(p, id, refs).map(familiar);
}

/** Absolute paths of an image's layers as overlay lowerdirs, top first (short links, see ./store/paths). */
export function lowerDirs(p: StorePaths, image: StoredImage): string[] {
  return image.layers.map((l) => join(p.links, l.short)).reverse();
}

