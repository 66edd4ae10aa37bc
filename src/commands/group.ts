/**
 * Command groups as docker has them (`box container ls`, `box image rm`): each subcommand is one of
 * box's commands under another name, sometimes with an option set (container inspect is inspect
 * --type container).
 */
import { defineCommand, type ArgsDef } from "citty";
import { parseLine } from "../cli/argv";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { showCommandHelp } from "./common";
import type { CommandModule } from "./index";

export interface Alias {
  /** The command it runs (a key of the commands table). */
  command: string;
  /** Words put before the user's (options of that command). */
  prepend?: string[];
  description: string;
}

export function groupModule(name: string, description: string, aliases: Record<string, Alias>): CommandModule {
  const args = {
    command: { type: "positional", required: true, valueHint: "COMMAND", description: `One of: ${Object.keys(aliases).join(", ")}` },
    ...globalArgs,
  } as const satisfies ArgsDef;
  const definition = defineCommand({
    meta: { name, description },
    args,
    subCommands: Object.fromEntries(Object.entries(aliases).map(([sub, a]) => [sub, { meta: { name: sub, description: a.description } }])),
  });
  return {
    definition,
    aliases,
    async main(tokens: string[], globals: Globals): Promise<number> {
      const line = parseLine(args, tokens, { commandName: name, stopAtFirstWord: true });
      const [sub, ...rest] = line.words;
      if (line.help || sub === undefined) {
        await showCommandHelp(definition);
        return 0;
      }
      const alias = aliases[sub];
      if (!alias) throw new BoxError(`unknown command "${sub.slice(0, 32)}" for "box ${name}". See 'box ${name} --help'.`);
      const load = globals.commands?.[alias.command];
      if (!load) throw new BoxError(`box ${name} ${sub} is not available here`);
      const target = await load();
      const root = (line.options.root as string | undefined) ?? globals.root;
      return target.main([...(alias.prepend ?? []), ...rest], { ...globals, ...(root !== undefined ? { root } : {}) });
    },
  };
}
