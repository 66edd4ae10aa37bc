import { writeSync } from "node:fs";
import { createConsola, type LogObject } from "consola/core";

/** Lines look like the helper's own ("box: ..."), so a user sees one voice whatever failed. */
function format(obj: LogObject): string {
  const text = obj.args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
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
