import { isatty } from "../sys/terminal";
import type { ArgsDef, CommandDef } from "citty";
import { parseLine, type ParsedLine, type ParseRules } from "../cli/argv";
import { tableText } from "../cli/format";
import type { Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { collect } from "../container/collect";
import { logger } from "../logger";
import { DamagedRecord, ensureDirs, resolveContainer, type ContainerRecord } from "../store/containers";
import { layoutFor, type Layout } from "../store/layout";
import { isRootless, rootlessMapping } from "../userns/ids";
import { sayOnce } from "../userns/notes";
import { out } from "../sys/out";

/** The few commands that act on the host itself (box's bridge): root's alone. */
export function requireRoot(command: string, why: string): void {
  if (process.getuid?.() !== 0) throw new BoxError(`box ${command} needs root: ${why}`);
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

/** A table in docker's style (its tabwriter: columns padded to their widest cell plus 3, at least 10). */
export function printTable(rows: string[][]): void {
  out(tableText(rows));
}

/**
 * The store, made ready: root's (/var/lib/box), or a user's own (rootless, src/store/layout.ts),
 * whose containers and image files live in a user namespace mapping the user's ids
 * (src/userns/ids.ts). What killed box processes left behind is collected first, by every command
 * (it looks only at containers marked active, so it costs little however many containers exist).
 */
/** The commands that list or remove containers look at every active one (src/container/collect.ts). */
const LOOKS_AT_ALL = new Set(["ps", "rm", "container prune", "system prune", "system df", "network", "volume", "image prune", "rmi", "inspect", "stats", "wait"]);
const COLLECT_BUDGET = 8;

export function storeFor(command: string, line: ParsedLine, globals: Globals): Layout {
  const layout = layoutFor((line.options.root as string | undefined) ?? globals.root);
  if (isRootless()) layout.userns = rootlessMapping();
  ensureDirs(layout);
  if (layout.userns?.single) {
    sayOnce(layout, "own-id-only", `${layout.userns.reason}: your containers map your own id alone, as their root; no other user or group exists in them (-u with another id fails), and image files of other owners become root's`);
  }
  collect(layout, LOOKS_AT_ALL.has(command) ? Infinity : COLLECT_BUDGET);
  return layout;
}

/** A damaged record said once, as a warning: listings go on without it. */
export function warnDamaged(err: DamagedRecord): void {
  logger.warn(err.message);
}

/** docker's check: -it reads a terminal, so box's stdin must be one (exit 1, as docker's). */
export function requireTerminal(interactive: boolean, tty: boolean): void {
  if (interactive && tty && !isatty(0)) throw new BoxError("the input device is not a TTY", 1);
}

/** docker's status for a command that reached the store and failed there (no such container, not running): 1. */
export const DAEMON_ERROR = 1;

/** Runs fn; a BoxError it throws ends box with docker's status for failures past the command line (1). */
export async function asDaemon<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BoxError && err.exitCode === 125) throw new BoxError(err.message, DAEMON_ERROR);
    throw err;
  }
}

/**
 * Runs fn for each container named on the line, as docker does: each one that succeeds is echoed
 * on stdout, each one that fails says why on stderr, and the others still get their turn; the exit
 * status is 1 (docker's) when any failed. With allowDamaged, fn also gets containers whose record
 * is damaged (record undefined), so `rm -f` can remove them; with missingIsFine, a container that
 * does not exist is a warning only (docker's rm -f).
 */
export async function forEachContainer(
  layout: Layout,
  words: readonly string[],
  fn: (c: ContainerRecord | undefined, word: string, id: string) => Promise<void>,
  allowDamaged = false,
  missingIsFine = false,
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
        if (missingIsFine && err instanceof BoxError && err.message.startsWith("no such container")) {
          logger.warn(err.message);
          continue;
        }
        if (!(err instanceof DamagedRecord) || !allowDamaged) throw err;
        id = err.id;
      }
      await fn(record, word, id);
      out(word + "\n");
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = DAEMON_ERROR;
    }
  }
  return code;
}
