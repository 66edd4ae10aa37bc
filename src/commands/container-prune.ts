import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { parseOrHelp, storeFor } from "./common";
import { confirm, pruneContainers, reportPruned, reportTotal } from "./prune";

const args = {
  force: { type: "boolean", alias: "f", description: "Do not ask" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "container prune", description: "Remove every container that is not running" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "container prune" });
  if (!line) return 0;
  if (line.words.length > 0) throw new BoxError("box container prune takes no arguments. See 'box container prune --help'.");
  const layout = storeFor("container prune", line, globals);
  if (line.options.force !== true && !confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue?")) return 0;
  const pruned = pruneContainers(layout);
  reportPruned("Containers", pruned);
  reportTotal(pruned.bytes);
  return 0;
}
