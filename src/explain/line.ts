/**
 * One step of the trace (src/trace.ts, helper/trace.c), read and written:
 *
 *   raw:       <usec> <role> <file>:<step> <what>[ <key>=<value>...]
 *   explained: box <ms since box started> ms  <source file>:<step>  <role>  <sentence>
 *
 * Raw lines come from the helper and from processes in the container being made (its init closes
 * the trace before the command runs, but a line is still read as untrusted text): a line that does
 * not parse is shown escaped, never acted on.
 */

export interface Step {
  usec: number;
  role: string;
  file: string;
  step: string;
  what: string;
  /** Values by key (the first, when a key repeats); pairs: all of them, in order. */
  fields: Record<string, string>;
  pairs: Array<[string, string]>;
}

const LINE = /^(\d{1,15}) ([a-z]{1,16}) ([A-Za-z0-9_./-]{1,64}):(\w{1,16}) ([a-z_-]{1,32})((?: [a-z0-9_-]{1,32}=[\x21-\x7e]*)*)$/;

/** A token of the trace format back to its text (\xNN escapes; "" for empty). */
export function untoken(t: string): string {
  if (t === '""') return "";
  return t.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function parseStep(line: string): Step | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  const pairs: Array<[string, string]> = [];
  for (const kv of m[6]!.trim().split(" ").filter(Boolean)) {
    const i = kv.indexOf("=");
    const [k, v] = [kv.slice(0, i), untoken(kv.slice(i + 1))];
    pairs.push([k, v]);
    if (!Object.hasOwn(fields, k)) fields[k] = v;
  }
  return { usec: Number(m[1]), role: m[2]!, file: m[3]!, step: m[4]!, what: m[5]!, fields, pairs };
}

/** Text that came from a process: shown, never interpreted by a terminal. */
export function safe(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Where a step is in box's source: src/... for the front end, helper/... for the helper. */
export function sourceOf(role: string, file: string, step: string): string {
  return `${role === "front" ? "src" : "helper"}/${file}:${step}`;
}

const ROLE_NAMES: Record<string, string> = { front: "box", supervisor: "supervisor" };

/** One explained line. usec counts from box's start; crlf when a terminal may be in raw mode. */
export function render(usec: number, where: string, role: string, text: string, crlf = false): string {
  const ms = (usec / 1000).toFixed(2).padStart(8);
  const line = `box ${ms} ms  ${where.padEnd(30)} ${(ROLE_NAMES[role] ?? role).padEnd(10)} ${safe(text)}`;
  return line + (crlf ? "\r\n" : "\n");
}
