import type { ArgsDef, CommandDef } from "citty";
import { parseLine, type ParsedLine, type ParseRules } from "../cli/argv";
import type { Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { collect } from "../container/collect";
import { logger } from "../logger";
import { DamagedRecord, ensureDirs, resolveContainer, type ContainerRecord } from "../store/containers";
import { layoutFor, type Layout } from "../store/layout";

/** box's commands change state owned by root (images, mounts, namespaces). */
export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new BoxError(`box ${command} needs root: run it as root or with sudo (rootless containers are not supported yet)`);
  }
}

/** Parses a command's line; on --help prints its usage and returns undefined. */
export async function parseOrHelp(def: CommandDef<any>, args: ArgsDef, tokens: string[], rules: ParseRules): Promise<ParsedLine | undefined> {
  const line = parseLine(args, tokens, rules);
  if (!line.help) return line;
  await showCommandHelp(def);
  return undefined;
}

/** `box COMMAND --help`: the command's usage under box's, and what follows it (run's rules). */
export async function showCommandHelp(def: CommandDef<any>, footer?: string): Promise<void> {
  const { showHelp } = await import("../cli/help");
  await showHelp(def, { meta: { name: "box" } }, footer);
}

/** A table in docker's style: columns padded to their widest cell plus three spaces. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]! + 3) : c)).join("").trimEnd());
  process.stdout.write(lines.join("\n") + "\n");
}

/**
 * The store, for a command that needs root, made ready: what killed box processes left behind is
 * collected first, by every command (it looks only at containers marked active, so it costs
 * little however many containers exist).
 */
export function storeFor(command: string, line: ParsedLine, globals: Globals): Layout {
  requireRoot(command);
  const layout = layoutFor((line.options.root as string | undefined) ?? globals.root);
  ensureDirs(layout);
  collect(layout);
  return layout;
}

/** "Up 3 minutes", "2 seconds ago": docker's way of saying how long. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? "" : "s"}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? "" : "s"}`;
  const d = Math.floor(h / 24);
  return `${d} day${d === 1 ? "" : "s"}`;
}

/** A damaged record said once, as a warning: listings go on without it. */
export function warnDamaged(err: DamagedRecord): void {
  logger.warn(err.message);
}

/**
 * Runs fn for each container named on the line, as docker does: each one that succeeds is echoed
 * on stdout, each one that fails says why on stderr, and the others still get their turn; the exit
 * status is 125 when any failed. With allowDamaged, fn also gets containers whose record is damaged
 * (record undefined), so `rm -f` can remove them.
 */
export async function forEachContainer(
  layout: Layout,
  words: readonly string[],
  fn: (c: ContainerRecord | undefined, word: string, id: string) => Promise<void>,
  allowDamaged = false,
): Promise<number> {
  let code = 0;
  for (const word of words) {
    try {
      let record: ContainerRecord | undefined;
      let id: string;
      try {
        record = resolveContainer(layout, word);
        id = record.id;
      } catch (err) {
        if (!(err instanceof DamagedRecord) || !allowDamaged) throw err;
        id = err.id;
      }
      await fn(record, word, id);
      process.stdout.write(word + "\n");
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = 125;
    }
  }
  return code;
}
