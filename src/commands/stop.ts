import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { markStopped, signalName, stopContainer, stopSignalOf } from "../container/signal";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { parseOrHelp, forEachContainer, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  time: { type: "string", alias: "t", valueHint: "SECONDS", description: "Grace period before SIGKILL (default: the container's --stop-timeout, else 10; -1 waits)" },
  signal: { type: "string", alias: "s", valueHint: "SIGNAL", description: "Signal to send first (default: the container's --stop-signal, else SIGTERM)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "stop", description: "Stop running containers (SIGTERM, then SIGKILL)" }, args });

/** The grace period of -t, checked: whole seconds, or -1 for no limit. */
export function graceOf(t: string | undefined): number | undefined {
  if (t === undefined) return undefined;
  if (!/^(-1|\d{1,9})$/.test(t)) throw new BoxError(`invalid -t "${t.slice(0, 32)}": give whole seconds`);
  return t === "-1" ? Infinity : Number(t) * 1000;
}

/** box stop: a container that is not running is fine (docker's, exit 0); restart policies leave it stopped. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "stop" });
  if (!line) return 0;
  const grace = graceOf(line.options.time as string | undefined);
  const sig = line.options.signal !== undefined ? signalName(line.options.signal as string) : undefined;
  if (line.words.length === 0) throw new BoxError("box stop needs at least one container. See 'box stop --help'.");
  const layout = storeFor("stop", line, globals);
  return forEachContainer(layout, line.words, async (c, _word, id) => {
    markStopped(layout, id);
    if (!isBusy(layout, id)) return;
    const timeout = c?.request?.stopTimeout;
    const ms = grace ?? (timeout === undefined ? 10_000 : timeout < 0 ? Infinity : timeout * 1000);
    await stopContainer(layout, id, ms, sig ?? stopSignalOf(c), c);
  });
}
