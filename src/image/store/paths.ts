import { join } from "node:path";
import type { Layout } from "../../store/layout";
import type { IdMapping } from "../../userns/ids";
import { hexOf } from "../digest";

/**
 * Where the layered image store keeps things, all under <lib>/images (and refs in <lib>/refs):
 *   images/blobs/sha256/<hex>      content by digest: layer archives as received, configs, manifests
 *   images/layers/<hex>/diff/      a layer unpacked once, by diffID (an overlay lowerdir), never
 *                                  written after unpacking
 *   images/layers/<hex>/layer.json what box knows of it (size, the blob it came from, its short name)
 *   images/l/<short>               a short link to layers/<hex>/diff, so an overlay of many layers
 *                                  fits in the one page of mount options (as docker's overlay2)
 *   images/db/<hex>.json           an image: its layers in order, where it came from; its config is
 *                                  the blob of the same digest (the image ID is the config's digest)
 *   refs/<name>                    a name ("docker.io%2Flibrary%2Falpine:3.20") holding an image ID
 *   tmp/                           scratch, named <kind>-<pid>-..., collected once <pid> is gone
 *   locks/                         lock files (one per layer being unpacked, one for the store)
 */
export interface StorePaths {
  lib: string;
  images: string;
  blobs: string;
  layers: string;
  links: string;
  db: string;
  refs: string;
  tmp: string;
  locks: string;
  /** Rootless: layers are unpacked (and removed) as root of this user namespace. */
  userns?: IdMapping;
}

export function storePaths(layout: Layout): StorePaths {
  return {
    lib: layout.lib,
    images: layout.images,
    blobs: join(layout.images, "blobs", "sha256"),
    layers: join(layout.images, "layers"),
    links: join(layout.images, "l"),
    db: join(layout.images, "db"),
    refs: layout.refs,
    tmp: layout.tmp,
    locks: layout.locks,
    ...(layout.userns ? { userns: layout.userns } : {}),
  };
}

export const blobPath = (p: StorePaths, digest: string) => join(p.blobs, hexOf(digest));
export const layerPath = (p: StorePaths, diffID: string) => join(p.layers, hexOf(diffID));
export const layerDiff = (p: StorePaths, diffID: string) => join(p.layers, hexOf(diffID), "diff");
export const recordPath = (p: StorePaths, id: string) => join(p.db, `${hexOf(id)}.json`);
