import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { formatRef, parseRef } from "../image/reference";
import { listRefs, lookupRef, removeImage, removeRef } from "../image/store";
import { statusOf } from "../container/state";
import { listContainers } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { withLock } from "../store/lock";
import { join } from "node:path";
import { parseOrHelp, storeFor } from "./common";

const args = {
  image: { type: "positional", required: true, valueHint: "NAME[:TAG]...", description: "Images to remove" },
  force: { type: "boolean", alias: "f", description: "Remove the name even while a container runs on the image (its data goes when unused)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rmi", description: "Remove images from the store" }, args });

/** Containers still running on an image. */
function usersOf(layout: Layout, digest: string): string[] {
  return listContainers(layout)
    .flatMap((l) => ("record" in l ? [l.record] : []))
    .filter((c) => c.imageId === digest && ["running", "created"].includes(statusOf(layout, c)))
    .map((c) => shortId(c.id));
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "rmi" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError(`box rmi needs at least one image. See 'box rmi --help'.`);
  const layout = storeFor("rmi", line, globals);
  for (const word of line.words) {
    const ref = parseRef(word);
    const digest = ref && lookupRef(layout, ref);
    if (!ref || !digest) throw new BoxError(`no such image: ${word}`);
    await withLock(join(layout.locks, `image-${digest}.lock`), async () => {
      const users = usersOf(layout, digest);
      if (users.length > 0 && line.options.force !== true) {
        throw new BoxError(`image ${formatRef(ref)} is used by running container ${users.join(", ")}: stop it first, or use -f`);
      }
      removeRef(layout, ref);
      process.stdout.write(`Untagged: ${formatRef(ref)}\n`);
      // The data goes with its last name, unless a container still runs on it.
      if (users.length === 0 && !listRefs(layout).some((r) => r.digest === digest)) {
        removeImage(layout, digest);
        process.stdout.write(`Deleted: sha256:${digest}\n`);
      }
    });
  }
  return 0;
}
