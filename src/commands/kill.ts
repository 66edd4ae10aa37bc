import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { killContainer, markStopped, signalName } from "../container/signal";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { forEachContainer, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  signal: { type: "string", alias: "s", valueHint: "SIGNAL", description: "Signal to send, by name or number (default KILL)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "kill", description: "Send a signal to running containers" }, args });

export { signalName };

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "kill" });
  if (!line) return 0;
  const sig = signalName((line.options.signal as string | undefined) ?? "KILL");
  if (line.words.length === 0) throw new BoxError("box kill needs at least one container. See 'box kill --help'.");
  const layout = storeFor("kill", line, globals);
  // A signal that ends the command is a person stopping it: a restart policy leaves it stopped.
  const ends = ["SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"].includes(sig);
  return forEachContainer(layout, line.words, async (c, word, id) => {
    if (ends && isBusy(layout, id)) markStopped(layout, id);
    if (!killContainer(layout, id, sig, c)) throw new BoxError(`container ${word} is not running`);
  });
}
