/**
 * The image store: blobs by digest, layers by diffID, images as a config plus an ordered list of
 * layers, names pointing at image IDs (see ./paths.ts for the layout on disk).
 *
 * An image appears by writing its record last, once its config blob and every layer are in place;
 * a name is written after its image. Whatever a killed box leaves (scratch in tmp/, a layer link
 * with no layer, a layer nobody names) is recognised and collected. Every file read back is
 * checked: a damaged record, config or name is skipped and reported, never a crash.
 *
 * Concurrency: a lock per layer (two pulls sharing a layer unpack it once), and one store lock
 * held briefly to commit an image, to pin the layers a pull is about to reuse, and by garbage
 * collection, so a collection never removes a layer that a pull in progress counts on.
 */
import { existsSync, mkdirSync } from "node:fs";
import { isScratch, listDir } from "../../store/dirs";
import type { Layout } from "../../store/layout";
import { storePaths, type StorePaths } from "./paths";
import { withStoreLock } from "./records";

export type { StorePaths } from "./paths";
export type { LayerRecord } from "./layers";
export * from "./records";
export * from "./find";
export * from "./commit";
export * from "./gc";
export * from "./compat";

/** The store of a layout, its directories made, an older box's store moved over (once). */
export async function openStore(layout: Layout): Promise<StorePaths> {
  const p = storePaths(layout);
  // db is made last: when it is there, so is the rest.
  if (!existsSync(p.db)) {
    for (const dir of [p.lib, p.images, p.blobs, p.layers, p.links, p.refs, p.tmp, p.locks, p.db]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  if (hasLegacy(p)) {
    const { migrate } = await import("./migrate");
    await withStoreLock(p, async () => migrate(p));
  }
  return p;
}

/** Whether an older box's store is there to move over: images/<64 hex>, or refs/<name>:<tag>. */
export function hasLegacy(p: StorePaths): boolean {
  return listDir(p.images).some((f) => /^[0-9a-f]{64}$/.test(f)) || listDir(p.refs).some((f) => !isScratch(f) && !f.includes("%2F") && f.includes(":"));
}

/** The store of a layout, for reading only: nothing is made (a fresh machine lists no images). */
export function peekStore(layout: Layout): StorePaths {
  return storePaths(layout);
}

