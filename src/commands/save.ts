import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { isatty } from "../sys/terminal";
import { BoxError } from "../errors";
import { parseOrHelp, storeFor } from "./common";

const args = {
  image: { type: "positional", required: true, valueHint: "IMAGE...", description: "Images by name or ID" },
  output: { type: "string", alias: "o", valueHint: "FILE", description: "Write to FILE (default: stdout, which must not be a terminal)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "save", description: "Save images to an archive that docker load, podman load and skopeo read" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "save" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError(`box save needs at least one image. See 'box save --help'.`);
  const output = line.options.output as string | undefined;
  if (output === undefined && isatty(1)) throw new BoxError("box save writes a binary archive, and stdout is a terminal: give -o FILE, or redirect stdout");
  const layout = storeFor("save", line, globals);
  const { saveImages } = await import("../image/save");
  await saveImages(layout, line.words, output);
  return 0;
}
