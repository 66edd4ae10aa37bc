import { defineCommand, type ArgsDef } from "citty";
import { commands } from "./index";
import { hidden, summaries } from "./summaries";
import { VERSION } from "../version";
import { globalArgs } from "../cli/shared";

/** The top of the command tree, for parsing global options and for `box --help`. */
export const rootArgs = {
  version: { type: "boolean", alias: "v", description: "Print the version and exit" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const rootDefinition = defineCommand({
  meta: { name: "box", version: VERSION, description: "Run Linux containers from one file, with nothing else installed" },
  args: rootArgs,
  // For the COMMANDS section of the help only; dispatch goes through src/cli.ts.
  subCommands: Object.fromEntries(
    Object.keys(commands)
      .filter((name) => !hidden.has(name))
      .map((name) => [name, { meta: { name, description: summaries[name] } }]),
  ),
});
