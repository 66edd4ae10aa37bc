import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { removeContainer } from "../container/remove";
import { markStopped, stopContainer } from "../container/signal";
import { isBusy } from "../container/state";
import { removeAnonymousVolumes } from "../container/volumes";
import { BoxError } from "../errors";
import { forEachContainer, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  force: { type: "boolean", alias: "f", description: "Kill a running container first; remove a damaged one; a missing one is only a warning" },
  volumes: { type: "boolean", alias: "v", description: "Remove the container's anonymous volumes too" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "rm", description: "Remove containers" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "rm" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box rm needs at least one container. See 'box rm --help'.");
  const force = line.options.force === true;
  const layout = storeFor("rm", line, globals);
  return forEachContainer(
    layout,
    line.words,
    async (record, word, id) => {
      if (isBusy(layout, id)) {
        if (!force) throw new BoxError(`container ${word} is running: stop it first, or use -f`);
        markStopped(layout, id); // a restart policy must not bring it back while it goes
        await stopContainer(layout, id, 0, "SIGKILL", record);
      }
      if (!removeContainer(layout, id, record)) {
        throw new BoxError(isBusy(layout, id) ? `container ${word} is still running` : `container ${word} cannot be removed yet: its cgroup is still busy`);
      }
      if (line.options.volumes === true && record) await removeAnonymousVolumes(layout, record);
    },
    force,
    force,
  );
}
