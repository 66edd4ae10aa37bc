import { writeSync } from "node:fs";
import { createConsola, type LogObject } from "consola/core";

/** Longest message box prints: what a user typed is echoed in messages, and may be anything. */
const MAX_MESSAGE = 1000;

/**
 * One line, safe for a terminal: control characters (an ESC sequence in a container name, a
 * newline in a path) are shown escaped, never sent raw, and a long message is cut.
 */
export function oneLine(text: string): string {
  const safe = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === "\n" ? " " : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  return safe.length > MAX_MESSAGE ? safe.slice(0, MAX_MESSAGE) + "…" : safe;
}

/** Lines look like the helper's own ("box: ..."), so a user sees one voice whatever failed. */
function format(obj: LogObject): string {
  const text = oneLine(obj.args.map((a) => (a instanceof Error ? a.message : String(a))).join(" "));
  const prefix = obj.type === "warn" ? "box: warning: " : obj.type === "debug" || obj.type === "trace" ? "box: debug: " : "box: ";
  return prefix + text + "\n";
}

/**
 * box's one logger. Everything goes to stderr (fd 2), so a container's stdout stays byte-identical
 * to the command's own output (consola's default reporter prints info and success lines on stdout).
 * consola/core with a plain write: touching process.stderr costs Bun ~9 ms of start-up on every run.
 */
export const logger = createConsola({
  level: process.env.BOX_DEBUG ? 4 : 3,
  reporters: [{ log: (obj) => void writeSync(2, format(obj)) }],
});
