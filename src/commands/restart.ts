import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { stopContainer, stopSignalOf } from "../container/signal";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { resolveContainer } from "../store/containers";
import { DAEMON_ERROR, parseOrHelp, storeFor } from "./common";
import { startEach } from "./start";
import { graceOf } from "./stop";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  time: { type: "string", alias: "t", valueHint: "SECONDS", description: "Grace period before SIGKILL (default: the container's --stop-timeout, else 10)" },
  signal: { type: "string", alias: "s", valueHint: "SIGNAL", description: "Signal to stop with (default: the container's --stop-signal, else SIGTERM)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "restart", description: "Stop containers and start them again" }, args });

/** box restart: box stop, then box start, for each container (one that is not running is just started). */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "restart" });
  if (!line) return 0;
  const grace = graceOf(line.options.time as string | undefined);
  const { signalName } = await import("../container/signal");
  const sig = line.options.signal !== undefined ? signalName(line.options.signal as string) : undefined;
  if (line.words.length === 0) throw new BoxError("box restart needs at least one container. See 'box restart --help'.");
  const layout = storeFor("restart", line, globals);
  let code = 0;
  const found: string[] = [];
  for (const word of line.words) {
    try {
      const c = resolveContainer(layout, word);
      if (isBusy(layout, c.id)) {
        const t = c.request?.stopTimeout;
        await stopContainer(layout, c.id, grace ?? (t === undefined ? 10_000 : t < 0 ? Infinity : t * 1000), sig ?? stopSignalOf(c), c);
      }
      found.push(word);
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = DAEMON_ERROR;
    }
  }
  if (found.length === 0) return code;
  const started = await startEach(layout, found, (line.options.root as string | undefined) ?? globals.root, code === 0);
  return code || started;
}
