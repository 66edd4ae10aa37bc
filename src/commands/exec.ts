import { defineCommand, type ArgsDef } from "citty";
import { rawEnv } from "../cli/bytes";
import { globalArgs, type Globals } from "../cli/shared";
import { execInContainer } from "../container/exec";
import { BoxError } from "../errors";
import { checkEnv, checkWorkdir } from "../spec/options";
import { resolveContainer } from "../store/containers";
import { enableExplain } from "../trace";
import { asDaemon, parseOrHelp, requireTerminal, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  command: { type: "positional", required: true, valueHint: "COMMAND [ARG...]", description: "Command to run in it; taken verbatim" },
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open" },
  tty: { type: "boolean", alias: "t", description: "A new pseudo-terminal in the container" },
  env: { type: "string", alias: "e", valueHint: "KEY=VAL", description: "Set an environment variable (repeatable)" },
  workdir: { type: "string", alias: "w", valueHint: "DIR", description: "Working directory (default: the container's)" },
  user: { type: "string", alias: "u", valueHint: "UID[:GID]", description: "User (default: the container's)" },
  explain: { type: "boolean", description: "Tell each step box and its helper take to join the container, on stderr" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "exec", description: "Run a command in a running container" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "exec", stopAtFirstWord: true, repeatable: ["env"] });
  if (!line) return 0;
  const [word, ...command] = line.words;
  if (word === undefined || command.length === 0) throw new BoxError("box exec needs a container and a command. See 'box exec --help'.");
  const o = line.options;
  if (o.workdir !== undefined) checkWorkdir(o.workdir as string);
  const env = checkEnv((o.env as string[] | undefined) ?? [], rawEnv);
  requireTerminal(o.interactive === true, o.tty === true);
  if (o.explain === true) await enableExplain("exec");
  const layout = storeFor("exec", line, globals);
  const record = await asDaemon(() => resolveContainer(layout, word));
  return asDaemon(() => execInContainer(layout, record, word, {
    command,
    env,
    workdir: o.workdir as string | undefined,
    user: o.user as string | undefined,
    tty: o.tty === true,
    interactive: o.interactive === true,
  }));
}
