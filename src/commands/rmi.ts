import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { hexOf } from "../image/digest";
import { familiar, parseReference, repoName } from "../image/reference";
import { collectGarbage, dropRepoDigest, findImageId, forgetImage, namesOf, openStore, readRecord, untag, type StorePaths } from "../image/store";
import { defaultInUse, imagesOfContainers, type InUse } from "../image/users";
import { parseOrHelp, storeFor } from "./common";

const args = {
  image: { type: "positional", required: true, valueHint: "IMAGE...", description: "Images to remove, by name (alpine:3.20), digest (alpine@sha256:...) or ID" },
  force: { type: "boolean", alias: "f", description: "Remove an image even while a container uses it (its data goes once unused), or by ID with several names" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rmi", description: "Remove images from the store" }, args });

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

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "rmi" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError(`box rmi needs at least one image. See 'box rmi --help'.`);
  const layout = storeFor("rmi", line, globals);
  const p = await openStore(layout);
  const inUse = defaultInUse(layout, p);
  let code = 0;
  for (const word of line.words) {
    try {
      const lines = await removeImageRef(p, word, line.options.force === true, inUse);
      process.stdout.write(lines.map((l) => l + "\n").join(""));
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      process.stderr.write(`box: ${err.message}\n`);
      code = 125;
    }
  }
  // Layers and blobs no remaining image uses go now; images containers still use stay.
  await collectGarbage(p, imagesOfContainers(layout, p));
  return code;
}

