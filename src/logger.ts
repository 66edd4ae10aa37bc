import { createConsola, type LogObject } from "consola";

/** Lines look like the helper's own ("box: ..."), so a user sees one voice whatever failed. */
function format(obj: LogObject): string {
  const text = obj.args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
  const prefix = obj.type === "warn" ? "box: warning: " : obj.type === "debug" || obj.type === "trace" ? "box: debug: " : "box: ";
  return prefix + text + "\n";
}

/**
 * box's one logger. Everything goes to stderr, so a container's stdout stays byte-identical to the
 * command's own output (consola's default reporter would print info and success lines on stdout).
 */
export const logger = createConsola({
  level: process.env.BOX_DEBUG ? 4 : 3,
  reporters: [{ log: (obj) => void process.stderr.write(format(obj)) }],
});
