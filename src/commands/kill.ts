import { defineCommand, type ArgsDef } from "citty";
import { constants } from "node:os";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { live } from "../store/containers";
import { forEachContainer, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  signal: { type: "string", alias: "s", valueHint: "SIGNAL", description: "Signal to send, by name or number (default KILL)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "kill", description: "Send a signal to running containers" }, args });

/** Signals the supervisor passes on to the command; the others go to the container's init itself. */
const FORWARDED = new Set(["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH"]);

export function signalName(text: string): string {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(text));
    if (name) return name;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    if (name in signals) return name;
  }
  throw new BoxError(`invalid signal "${text}"`);
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "kill" });
  if (!line) return 0;
  const sig = signalName((line.options.signal as string | undefined) ?? "KILL");
  if (line.words.length === 0) throw new BoxError("box kill needs at least one container. See 'box kill --help'.");
  const layout = storeFor("kill", line, globals);
  return forEachContainer(layout, line.words, async (c, word) => {
    const l = live(layout, c.id);
    if (!l) throw new BoxError(`container ${word} is not running`);
    process.kill(FORWARDED.has(sig) ? l.supervisor : l.init, sig as NodeJS.Signals);
  });
}
