/**
 * runc's command line, parsed as runc's (Go's flag package, through urfave/cli) parses it: flags
 * before the words, `-f`, `--flag`, `-flag value`, `--flag=value`; a boolean takes no value
 * (or `=true`/`=false`); parsing stops at the first word or at `--`, so `exec ID ls -l` hands
 * `ls -l` to the container unchanged.
 */
import { BoxError } from "../errors";

export interface FlagDef {
  name: string;
  short?: string;
  kind: "bool" | "string" | "list";
  help: string;
  /** Shown as the value's placeholder in help. */
  value?: string;
}

export type Parsed = { flags: Record<string, string | boolean | string[] | undefined>; words: string[] };

export function parseFlags(argv: readonly string[], defs: readonly FlagDef[], command: string): Parsed {
  const flags: Parsed["flags"] = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = defs.find((d) => d.name === name || d.short === name);
    if (!def) throw new BoxError(`flag provided but not defined: -${name}${command ? ` (see '${command} --help')` : ""}`, 1);
    if (def.kind === "bool") {
      const v = eq >= 0 ? body.slice(eq + 1) : "true";
      if (v !== "true" && v !== "false") throw new BoxError(`invalid boolean value "${v}" for -${name}`, 1);
      flags[def.name] = v === "true";
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new BoxError(`flag needs an argument: -${name}`, 1);
      value = argv[++i]!;
    }
    if (def.kind === "list") flags[def.name] = [...((flags[def.name] as string[] | undefined) ?? []), value];
    else flags[def.name] = value;
  }
  return { flags, words: argv.slice(i) };
}

export const str = (p: Parsed, name: string): string | undefined => p.flags[name] as string | undefined;
export const on = (p: Parsed, name: string): boolean => p.flags[name] === true;
export const list = (p: Parsed, name: string): string[] => (p.flags[name] as string[] | undefined) ?? [];

/** Exactly n words, else runc's sentence. */
export function words(p: Parsed, command: string, min: number, max = min, what = "<container-id>"): string[] {
  if (p.words.length < min || p.words.length > max) {
    const need = min === max ? `exactly ${min}` : p.words.length < min ? `a minimum of ${min}` : `a maximum of ${max}`;
    throw new BoxError(`"${command}" requires ${need} argument(s) (${what})`, 1);
  }
  return p.words;
}

export function flagHelp(defs: readonly FlagDef[]): string {
  return defs
    .map((d) => {
      const names = [`--${d.name}`, ...(d.short ? [`-${d.short}`] : [])].join(", ");
      const left = d.kind === "bool" ? names : `${names} ${d.value ?? "value"}`;
      return `   ${left.padEnd(30)} ${d.help}`;
    })
    .join("\n");
}
