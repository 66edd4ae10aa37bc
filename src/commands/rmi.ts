import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { removeImageRef } from "../image/remove";
import { collectGarbage, openStore } from "../image/store";
import { imageIdsOf, type InUse } from "../image/users";
import type { StorePaths } from "../image/store";
import { statusOf } from "../container/state";
import { listContainers, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";
import { logger } from "../logger";

const args = {
  image: { type: "positional", required: true, valueHint: "IMAGE...", description: "Images to remove, by name (alpine:3.20), digest (alpine@sha256:...) or ID" },
  force: { type: "boolean", alias: "f", description: "Remove an image even while a container uses it (its data goes once unused), or by ID with several names" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rmi", description: "Remove images from the store" }, args });

/*
 * The container side of image removal, as box run records containers today (their imageId). The
 * container core may pass callbacks of its own to removeImageRef and collectGarbage instead.
 */
function records(layout: Layout): ContainerRecord[] {
  return listContainers(layout).flatMap((l) => ("record" in l ? [l.record] : []));
}

/** Running or created containers keep their image from removal without -f. */
export function defaultInUse(layout: Layout, p: StorePaths): InUse {
  const live = records(layout).filter((c) => c.imageId && ["running", "restarting", "created"].includes(statusOf(layout, c)));
  return (imageId) => live.filter((c) => imageIdsOf(p, [c.imageId!]).has(imageId)).map((c) => shortId(c.id));
}

/** Every image any container (in any state) still refers to: a collection keeps them. */
export function imagesOfContainers(layout: Layout, p: StorePaths): Set<string> {
  return imageIdsOf(p, records(layout).flatMap((c) => (c.imageId ? [c.imageId] : [])));
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
      out(lines.map((l) => l + "\n").join(""));
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = 125;
    }
  }
  // Layers and blobs no remaining image uses go now; images containers still use stay.
  await collectGarbage(p, imagesOfContainers(layout, p));
  return code;
}

