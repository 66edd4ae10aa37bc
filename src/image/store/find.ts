/** Finding an image by what a person types. */
import { BoxError } from "../../errors";
import { hexOf } from "../digest";
import { parseReference, repoName, tagName } from "../reference";
import type { StorePaths } from "./paths";
import { listImageIds, loadImage, imageProblem, readRecord, type StoredImage } from "./records";
import { readRef } from "./refs";

export interface Found {
  image: StoredImage;
  /** The name it was found by, when a name. */
  name?: string;
}

/**
 * An image by what a person types: a name in any normalised form (alpine, alpine:3.20,
 * docker.io/library/alpine:3.20), a name with a digest (alpine@sha256:...), a full ID
 * ("sha256:<hex>") or a prefix of its hex of at least minPrefix digits. An ambiguous prefix is
 * an error naming the candidates; a damaged image is an error saying what is wrong.
 */
export function findImage(p: StorePaths, word: string, minPrefix = 4): Found | undefined {
  const id = findImageId(p, word, minPrefix);
  if (!id) return undefined;
  const image = loadImage(p, id.id);
  if (!image) throw new BoxError(`the image ${word} is damaged (${imageProblem(p, id.id) ?? "unreadable"}): remove it with box rmi ${word}`);
  return { image, ...(id.name ? { name: id.name } : {}) };
}

export function findImageId(p: StorePaths, word: string, minPrefix = 4): { id: string; name?: string } | undefined {
  const ref = parseReference(word);
  if (ref && !ref.digest) {
    const name = tagName(ref);
    const id = readRef(p, name);
    if (id) return { id, name };
  }
  if (ref?.digest) {
    const want = `${repoName(ref)}@${ref.digest}`;
    for (const id of listImageIds(p)) {
      const rec = readRecord(p, id);
      if (rec?.repoDigests.includes(want)) return { id };
    }
  }
  const hex = word.startsWith("sha256:") ? word.slice(7) : word;
  if (/^[0-9a-f]+$/.test(hex) && (hex.length >= minPrefix || word.startsWith("sha256:"))) {
    const all = listImageIds(p).filter((id) => hexOf(id).startsWith(hex));
    if (all.length > 1) throw new BoxError(`the image ID prefix "${word}" is ambiguous: it matches ${all.map((i) => hexOf(i).slice(0, 12)).join(", ")}`);
    if (all.length === 1) return { id: all[0]! };
  }
  return undefined;
}

