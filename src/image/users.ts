/**
 * Which containers use which images. The container core owns containers; the image side asks
 * through callbacks (InUse), and maps what a container records of its image (an image ID's hex
 * digits, or the digest an older box stored the image under) to image IDs. The defaults that
 * read the container store live with the commands (src/commands/rmi.ts): src/image never
 * imports the container core, which imports it.
 */
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

