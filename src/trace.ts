/**
 * The front end's phase trace, in the helper's line format (helper/trace.c):
 *
 *   <usec> front <file>:<step> <what>[ <key>=<value>...]
 *
 * usec counts from the start of the box process (Bun's time origin, performance.now()). Asked for
 * with BOX_TRACE=1, written raw to stderr; with `--explain` every line is put into words first
 * (src/explain/). When off, a call costs one test of a boolean, and nothing of the explainer or
 * of libc is loaded.
 *
 * The helper writes its own lines to the fd of the plan's 'trace' record (traceRecords): with
 * BOX_TRACE=1 stderr itself; with --explain a pipe to a small process of box's (src/explain/relay.ts)
 * that puts them into words as they come. Just before box becomes the helper, the "exec" line gives
 * CLOCK_MONOTONIC then, and the helper's first line gives its origin on the same clock, so the two
 * make one time line.
 */
import { writeSync } from "node:fs";

type Explain = (usec: number, where: string, what: string, fields: Record<string, string>) => void;

let enabled = process.env.BOX_TRACE === "1";
let explain: Explain | undefined;

export function traceOn(): boolean {
  return enabled;
}

export function enableTrace(): void {
  enabled = true;
}

/** --explain: every step from now on in words, on stderr (the first line says how box began). */
export async function enableExplain(command: string): Promise<void> {
  const { explainFront } = await import("./explain/front");
  explain = explainFront(command);
  enabled = true;
}

export function explaining(): boolean {
  return explain !== undefined;
}

function token(value: string | number): string {
  const s = String(value);
  return s.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).slice(0, 200);
}

export function trace(where: string, what: string, fields: Record<string, string | number> = {}): void {
  if (!enabled) return;
  const usec = Math.round(performance.now() * 1000);
  if (explain) {
    explain(usec, where, what, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])));
    return;
  }
  const values = Object.entries(fields).map(([k, v]) => ` ${k}=${token(v)}`).join("");
  writeSync(2, `${usec} front ${where} ${what}${values}\n`);
}

/**
 * The plan's 'trace' record, when tracing: BOX_TRACE=1 gives the helper stderr; --explain a pipe
 * to the explainer, started now. The "exec" line is written here, last before the helper runs,
 * with CLOCK_MONOTONIC from libc's clock_gettime (Bun's process.hrtime counts from the process's
 * own start, not the machine's, so it cannot be lined up with the helper's clock).
 */
export async function traceRecords(where: string): Promise<Array<[string, string]>> {
  if (!enabled) return [];
  const { monotonicMicros } = await import("./sys/libc");
  const mono = monotonicMicros();
  // Where Bun's time origin (usec 0 of the front's lines) lies on CLOCK_MONOTONIC.
  const origin = mono - BigInt(Math.round(performance.now() * 1000));
  if (!explain) {
    trace(where, "exec", { "monotonic-us": mono.toString() });
    return [["trace", "2"]];
  }
  const { startRelay } = await import("./explain/start");
  const fd = startRelay(origin);
  trace(where, "exec", { "monotonic-us": mono.toString() });
  return [["trace", String(fd)]];
}
