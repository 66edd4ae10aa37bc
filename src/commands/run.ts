import { defineCommand } from "citty";
import { rmSync } from "node:fs";
import { parseLine } from "../cli/argv";
import { checkOptions, containerArgs, containerRepeatable, runHelpFooter, runRequest } from "../cli/container-args";
import type { Globals } from "../cli/shared";
import { createContainer } from "../container/create";
import { startContainer } from "../container/start";
import { checkHelperSupport } from "../container/support";
import { Undo } from "../container/undo";
import { writeFileAtomic } from "../store/atomic";
import { enableExplain } from "../trace";
import { sayOnce } from "../userns/notes";
import { requireTerminal, showCommandHelp, storeFor } from "./common";

export const definition = defineCommand({
  meta: { name: "run", description: "Run a command in a new container" },
  args: containerArgs,
});

/** --cidfile: the id written once the container exists (removed again if it never starts). */
export function writeCidfile(path: string | undefined, id: string, undo: Undo): void {
  if (path === undefined) return;
  writeFileAtomic(path, id);
  undo.push(() => rmSync(path, { force: true }));
}

/** box run = create + start; box exec's into the helper, which runs the container to its end. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = parseLine(containerArgs, tokens, { repeatable: containerRepeatable, stopAtFirstWord: true, commandName: "run" });
  if (line.help) {
    await showCommandHelp(definition, runHelpFooter);
    return 0;
  }
  const options = checkOptions(line.options); // bad flags are named before anything else
  if (!options.detach) requireTerminal(options.interactive, options.tty);
  if (line.options.explain === true) await enableExplain("run");
  const layout = storeFor("run", line, globals);
  if (options.isolation.networkNote) sayOnce(layout, "network", options.isolation.networkNote);
  const request = await runRequest(layout, line, options, "run");
  checkHelperSupport(request);
  const undo = new Undo();
  try {
    const { record, lock } = await createContainer(layout, request, undo, { starting: true });
    writeCidfile(options.cidfile, record.id, undo);
    return await startContainer(layout, record, lock, undo);
  } catch (err) {
    undo.unwind();
    throw err;
  }
}
