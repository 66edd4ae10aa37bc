import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { renameContainer } from "../container/rename";
import { BoxError } from "../errors";
import { resolveContainer } from "../store/containers";
import { asDaemon, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  name: { type: "positional", required: true, valueHint: "NEW_NAME", description: "The container's new name" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rename", description: "Rename a container" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "rename" });
  if (!line) return 0;
  if (line.words.length !== 2) throw new BoxError("box rename takes a container and its new name. See 'box rename --help'.");
  const [word, name] = line.words as [string, string];
  const layout = storeFor("rename", line, globals);
  await asDaemon(() => renameContainer(layout, resolveContainer(layout, word), word, name));
  return 0;
}
