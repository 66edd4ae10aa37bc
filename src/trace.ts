/**
 * The front end's phase trace, in the helper's line format (helper/trace.c):
 *
 *   <usec> front <file>:<step> <what>[ <key>=<value>...]
 *
 * usec counts from the start of the box process (performance.now()). Asked for with BOX_TRACE=1
 * (or `--explain`), written to stderr; when off, a call costs one test of a boolean. Just before
 * box becomes the helper, "exec monotonic-us=N" gives CLOCK_MONOTONIC then, so the helper's own
 * lines (whose first one gives its origin on the same clock) can be put on one time line.
 */
import { writeSync } from "node:fs";

let enabled = process.env.BOX_TRACE === "1";

export function traceOn(): boolean {
  return enabled;
}

export function enableTrace(): void {
  enabled = true;
}

function token(value: string | number): string {
  const s = String(value);
  return s.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).slice(0, 200);
}

export function trace(where: string, what: string, fields: Record<string, string | number> = {}): void {
  if (!enabled) return;
  const usec = Math.round(performance.now() * 1000);
  const values = Object.entries(fields).map(([k, v]) => ` ${k}=${token(v)}`).join("");
  writeSync(2, `${usec} front ${where} ${what}${values}\n`);
}

/** CLOCK_MONOTONIC in microseconds, as the helper reports it. */
export function monotonicUs(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}
