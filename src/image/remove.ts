/** Removing images: what box rmi (and box image rm) does with each word. */
import { BoxError } from "../errors";
import { hexOf } from "./digest";
import { familiar, parseReference, repoName } from "./reference";
import { dropRepoDigest, findImageId, forgetImage, namesOf, readRecord, untag, type StorePaths } from "./store";
import type { InUse } from "./users";

/**
 * Removes one image reference as docker's rmi does: a name untags (and the image goes with its
 * last name), an ID removes the image with all its names (-f needed when it has several), a
 * digest reference drops that reference. An image a container uses stays unless -f; with -f its
 * names go and its data stays until no container uses it. Returns the lines to print.
 */
export async function removeImageRef(p: StorePaths, word: string, force: boolean, inUse: InUse): Promise<string[]> {
  const found = findImageId(p, word);
  if (!found) throw new BoxError(`no such image: ${word}`);
  const { id } = found;
  const short = hexOf(id).slice(0, 12);
  const users = inUse(id);
  const names = namesOf(p, id);
  const ref = parseReference(word);
  const out: string[] = [];
  const byName = found.name !== undefined;
  const byDigest = !byName && ref?.digest !== undefined && readRecord(p, id)?.repoDigests.includes(`${repoName(ref)}@${ref.digest}`);
  if (users.length > 0 && !force) {
    const what = byName ? familiar(found.name!) : word;
    throw new BoxError(`image ${what} is used by running container ${users.join(", ")}: stop it first, or use -f`);
  }
  if (byName) {
    await untag(p, found.name!);
    out.push(`Untagged: ${familiar(found.name!)}`);
  } else if (byDigest) {
    await dropRepoDigest(p, id, `${repoName(ref!)}@${ref!.digest}`);
    out.push(`Untagged: ${familiar(`${repoName(ref!)}@${ref!.digest}`)}`);
  } else {
    if (names.length > 1 && !force) {
      throw new BoxError(`image ${short} has several names (${names.map(familiar).join(", ")}): remove them by name, or use -f`);
    }
    for (const n of names) {
      await untag(p, n);
      out.push(`Untagged: ${familiar(n)}`);
    }
  }
  const rec = readRecord(p, id);
  const left = namesOf(p, id).length + (rec?.repoDigests.length ?? 0);
  if (users.length === 0 && (left === 0 || (!byName && !byDigest))) {
    for (const d of rec?.repoDigests ?? []) out.push(`Untagged: ${familiar(d)}`);
    await forgetImage(p, id);
    out.push(`Deleted: ${id}`);
  }
  return out;
}

