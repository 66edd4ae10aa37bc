import type { ArgDef, ArgsDef } from "citty";
import { BoxError } from "../errors";

export type OptionValue = string | boolean | string[];

export interface ParsedLine {
  /** Options by their long name (as declared in the command's citty args). */
  options: Record<string, OptionValue>;
  /** Words after the options: with stopAtFirstWord, everything from the first one on, verbatim. */
  words: string[];
  /** True when `--` ended the options before any word: what follows is taken verbatim. */
  dashdash: boolean;
  help: boolean;
}

export interface ParseRules {
  /** Options that may be given several times and collect into a list (docker's -e, -v, -p). */
  repeatable?: readonly string[];
  /** Docker's rule: options end at the first word; what follows belongs to the container's command. */
  stopAtFirstWord?: boolean;
  /** Shown in errors: "See 'box run --help'." ("" for box itself) */
  commandName: string;
}

interface Flag {
  name: string;
  def: ArgDef;
}

function flagTable(def: ArgsDef): Map<string, Flag> {
  const table = new Map<string, Flag>();
  for (const [name, arg] of Object.entries(def)) {
    if (arg.type === "positional") continue;
    const aliases = "alias" in arg && arg.alias ? ([] as string[]).concat(arg.alias) : [];
    for (const key of [name, ...aliases]) table.set(key, { name, def: arg });
  }
  return table;
}

/**
 * Parses a command line the way docker does: options first, then words. citty's own parser drops
 * flags it does not know and reads options anywhere on the line, which would eat the container
 * command's `-la` or `--help`; this one stops where docker stops and refuses what it does not know.
 */
export function parseLine(def: ArgsDef, tokens: readonly string[], rules: ParseRules): ParsedLine {
  const table = flagTable(def);
  const options: Record<string, OptionValue> = {};
  const words: string[] = [];
  let help = false;
  let dashdash = false;
  const hint = `See '${["box", rules.commandName].filter(Boolean).join(" ")} --help'.`;

  const set = (flag: Flag, value: string | boolean) => {
    if (rules.repeatable?.includes(flag.name)) {
      const list = (options[flag.name] as string[] | undefined) ?? [];
      list.push(String(value));
      options[flag.name] = list;
    } else {
      options[flag.name] = value;
    }
  };
  const takesValue = (flag: Flag) => flag.def.type === "string" || flag.def.type === "enum";

  let i = 0;
  for (; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok === "--") {
      dashdash = words.length === 0;
      i++;
      break;
    }
    if (tok === "-" || !tok.startsWith("-")) {
      words.push(tok);
      if (rules.stopAtFirstWord) {
        i++;
        break;
      }
      continue;
    }
    if (tok.startsWith("--")) {
      const eq = tok.indexOf("=");
      const key = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      if (key === "help") {
        help = true;
        continue;
      }
      const flag = table.get(key);
      if (!flag || key.length === 1) throw new BoxError(`unknown flag: --${key}. ${hint}`);
      if (takesValue(flag)) {
        let value: string | undefined = eq < 0 ? tokens[++i] : tok.slice(eq + 1);
        if (value === undefined) throw new BoxError(`flag needs an argument: --${key}. ${hint}`);
        set(flag, value);
      } else {
        if (eq >= 0) {
          const v = tok.slice(eq + 1);
          if (v !== "true" && v !== "false") throw new BoxError(`flag --${key} takes no value, got '${v}'. ${hint}`);
          set(flag, v === "true");
        } else set(flag, true);
      }
      continue;
    }
    // A cluster of short flags: -it, -e KEY=VAL, -eKEY=VAL, -w/dir.
    for (let j = 1; j < tok.length; j++) {
      const ch = tok[j]!;
      // As in docker, -h is --help unless the command gives it a meaning (run: --hostname).
      if (ch === "h" && !table.has("h")) {
        help = true;
        continue;
      }
      const flag = table.get(ch);
      if (!flag) throw new BoxError(`unknown shorthand flag: '${ch}' in ${tok}. ${hint}`);
      if (!takesValue(flag)) {
        set(flag, true);
        continue;
      }
      const rest = tok.slice(j + 1);
      const value = rest !== "" ? rest : tokens[++i];
      if (value === undefined) throw new BoxError(`flag needs an argument: '${ch}' in -${ch}. ${hint}`);
      set(flag, value);
      break;
    }
  }
  words.push(...tokens.slice(i));
  return { options, words, dashdash, help };
}
