import { defineCommand, type ArgsDef } from "citty";
import { join } from "node:path";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { live, removeContainer } from "../store/containers";
import { withLock } from "../store/lock";
import { forEachContainer, parseOrHelp, storeFor } from "./common";
import { stopContainer } from "./stop";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  force: { type: "boolean", alias: "f", description: "Kill a running container first" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rm", description: "Remove containers" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "rm" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box rm needs at least one container. See 'box rm --help'.");
  const layout = storeFor("rm", line, globals);
  return forEachContainer(layout, line.words, (c, word) =>
    withLock(join(layout.locks, `container-${c.id}.lock`), async () => {
      if (live(layout, c.id)) {
        if (line.options.force !== true) throw new BoxError(`container ${word} is running: stop it first, or use -f`);
        await stopContainer(layout, c.id, 0);
      }
      if (!removeContainer(layout, c.id)) throw new BoxError(`container ${word} cannot be removed yet: its cgroup is still busy`);
    }),
  );
}
