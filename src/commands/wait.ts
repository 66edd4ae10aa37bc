import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { waitForExit } from "../container/wait";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { resolveContainer } from "../store/containers";
import { DAEMON_ERROR, parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "wait", description: "Wait for containers to end and print their exit codes" }, args });

/** box wait: one exit code per container, in order, as each ends. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "wait" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box wait needs at least one container. See 'box wait --help'.");
  const layout = storeFor("wait", line, globals);
  let code = 0;
  for (const word of line.words) {
    try {
      const c = resolveContainer(layout, word);
      out(`${await waitForExit(layout, c.id, word)}\n`);
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = DAEMON_ERROR;
    }
  }
  return code;
}
