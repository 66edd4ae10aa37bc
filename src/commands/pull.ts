import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { pullAlpine, pullOptions } from "../image/obtain";
import { parseRef } from "../image/reference";
import { collectStaleScratch } from "../image/store";
import { parseOrHelp, storeFor } from "./common";

const args = {
  image: { type: "positional", required: true, valueHint: "alpine[:TAG]", description: "latest (default), edge, a branch (3.19) or a release (3.19.4)" },
  mirror: { type: "string", valueHint: "URL", description: "Alpine mirror (default https://dl-cdn.alpinelinux.org/alpine; env BOX_ALPINE_MIRROR)" },
  timeout: { type: "string", valueHint: "SECONDS", description: "Give up when the mirror sends nothing for this long (default 30; env BOX_PULL_TIMEOUT)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "pull", description: "Pull an Alpine release from a mirror into the image store" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "pull" });
  if (!line) return 0;
  if (line.words.length !== 1) throw new BoxError(`box pull takes one image, alpine[:TAG]. See 'box pull --help'.`);
  const ref = parseRef(line.words[0]!);
  if (!ref) throw new BoxError(`invalid image reference "${line.words[0]}"`);
  const opts = pullOptions(line.options.mirror as string | undefined, line.options.timeout as string | undefined);
  const layout = storeFor("pull", line, globals);
  collectStaleScratch(layout);
  const { image } = await pullAlpine(layout, ref, opts);
  process.stdout.write(`${image.record.id}\n`);
  return 0;
}
