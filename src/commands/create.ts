import { defineCommand, type ArgsDef } from "citty";
import { parseLine } from "../cli/argv";
import { checkOptions, containerArgs, containerRepeatable, runHelpFooter, runRequest } from "../cli/container-args";
import type { Globals } from "../cli/shared";
import { createContainer } from "../container/create";
import { checkHelperSupport } from "../container/support";
import { Undo } from "../container/undo";
import { sayOnce } from "../userns/notes";
import { showCommandHelp, storeFor } from "./common";
import { writeCidfile } from "./run";
import { out } from "../sys/out";

/** run's options, but -d (a created container is started by box start, detached unless -a). */
const { detach: _detach, ...createArgs } = containerArgs;
export const args = createArgs satisfies ArgsDef;

export const definition = defineCommand({
  meta: { name: "create", description: "Create a container without starting it (box start runs it)" },
  args,
});

/** box create: the container's directory, name and root, ready for box start; its id on stdout. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = parseLine(args, tokens, { repeatable: containerRepeatable, stopAtFirstWord: true, commandName: "create" });
  if (line.help) {
    await showCommandHelp(definition, runHelpFooter.replaceAll("box run", "box create"));
    return 0;
  }
  const options = checkOptions(line.options);
  const layout = storeFor("create", line, globals);
  if (options.isolation.networkNote) sayOnce(layout, "network", options.isolation.networkNote);
  const request = await runRequest(layout, line, options, "create");
  checkHelperSupport(request);
  const undo = new Undo();
  try {
    const { record, lock } = await createContainer(layout, request, undo, { starting: false });
    writeCidfile(options.cidfile, record.id, undo);
    lock.release();
    undo.commit();
    out(record.id + "\n");
    return 0;
  } catch (err) {
    undo.unwind();
    throw err;
  }
}
