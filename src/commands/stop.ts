import { defineCommand, type ArgsDef } from "citty";
import { join } from "node:path";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { live } from "../store/containers";
import type { Layout } from "../store/layout";
import { withLock } from "../store/lock";
import { forEachContainer, parseOrHelp, storeFor, waitFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  time: { type: "string", alias: "t", valueHint: "SECONDS", description: "Grace period before SIGKILL (default 10)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "stop", description: "Stop running containers (SIGTERM, then SIGKILL)" }, args });

/** SIGTERM to the command (its supervisor forwards it), SIGKILL to its init after the grace period;
 * returns once the supervisor has recorded the end and cleaned up. */
export async function stopContainer(layout: Layout, id: string, graceMs: number): Promise<void> {
  const l = live(layout, id);
  if (!l) return;
  try {
    process.kill(l.supervisor, "SIGTERM");
  } catch {
    /* ended meanwhile */
  }
  if (!(await waitFor(() => !live(layout, id), graceMs))) {
    try {
      process.kill(l.init, "SIGKILL");
    } catch {
      /* ended meanwhile */
    }
  }
  await waitFor(() => !live(layout, id), 10_000);
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "stop" });
  if (!line) return 0;
  const t = (line.options.time as string | undefined) ?? "10";
  if (!/^\d+$/.test(t)) throw new BoxError(`invalid -t "${t}": give whole seconds`);
  if (line.words.length === 0) throw new BoxError("box stop needs at least one container. See 'box stop --help'.");
  const layout = storeFor("stop", line, globals);
  return forEachContainer(layout, line.words, (c, word) =>
    withLock(join(layout.locks, `container-${c.id}.lock`), async () => {
      if (!live(layout, c.id)) throw new BoxError(`container ${word} is not running`);
      await stopContainer(layout, c.id, Number(t) * 1000);
    }),
  );
}
