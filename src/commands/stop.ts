import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { signalName, stopContainer } from "../container/signal";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { parseOrHelp, forEachContainer, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  time: { type: "string", alias: "t", valueHint: "SECONDS", description: "Grace period before SIGKILL (default 10)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "stop", description: "Stop running containers (SIGTERM, then SIGKILL)" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "stop" });
  if (!line) return 0;
  const t = (line.options.time as string | undefined) ?? "10";
  if (!/^\d{1,9}$/.test(t)) throw new BoxError(`invalid -t "${t.slice(0, 32)}": give whole seconds`);
  if (line.words.length === 0) throw new BoxError("box stop needs at least one container. See 'box stop --help'.");
  const layout = storeFor("stop", line, globals);
  return forEachContainer(layout, line.words, async (c, word, id) => {
    if (!isBusy(layout, id)) throw new BoxError(`container ${word} is not running`);
    // The image's STOPSIGNAL, when it has one (a damaged one is ignored: SIGTERM).
    let sig = "SIGTERM";
    try {
      if (c?.stopSignal) sig = signalName(c.stopSignal);
    } catch {
      /* SIGTERM */
    }
    await stopContainer(layout, id, Number(t) * 1000, sig);
  });
}
