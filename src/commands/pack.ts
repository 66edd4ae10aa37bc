import { defineCommand, type ArgsDef } from "citty";
import { parseSize } from "../cgroup/limits";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { humanSize } from "../human";
import { logger } from "../logger";
import { parseOrHelp, storeFor } from "./common";

const args = {
  image: { type: "positional", required: true, valueHint: "IMAGE...", description: "Images of the store, by name or ID" },
  output: { type: "string", alias: "o", valueHint: "FILE", description: "The executable to write (a copy of box that carries the images)" },
  "max-size": { type: "string", valueHint: "SIZE", description: "Refuse when the result would be larger than SIZE (like 500m or 2g)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "pack", description: "Write a copy of box that carries images, for machines without a network" }, args });

/** box pack IMAGE... -o FILE: on the other machine, `./FILE run IMAGE` needs no network and no box load. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "pack" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box pack needs at least one image. See 'box pack --help'.");
  const output = line.options.output as string | undefined;
  if (!output) throw new BoxError("box pack needs -o FILE: the executable to write. See 'box pack --help'.");
  const max = line.options["max-size"] as string | undefined;
  const maxSize = max === undefined ? undefined : parseSize(max, "--max-size");
  const layout = storeFor("pack", line, globals);
  const { packImages } = await import("../image/pack/write");
  const packed = await packImages(layout, line.words, output, maxSize);
  logger.info(`packed ${packed.images.join(", ")} into ${output}: ${humanSize(packed.size)} (box ${humanSize(packed.base)}, images ${humanSize(packed.size - packed.base)}); there, run ./${output.split("/").pop()} run ${packed.images[0]}`);
  return 0;
}
