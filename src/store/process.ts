import { readFileSync } from "node:fs";

/**
 * The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone.
 * A zombie counts as gone: it has ended, and only waits for a parent (or an init that may be slow
 * to reap it) to collect its status. Only real pids are looked at: never 0, 1 or a negative number.
 */
export function processStart(pid: number): string | undefined {
  if (!isPid(pid)) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** A pid box may ever look at or signal: a whole number above 1 (never 0, our group, or init). */
export function isPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 1 && pid <= 4194304;
}

/** The start time box records of itself, so a reused pid is never taken for it. */
export function selfStart(): string {
  return processStart(process.pid) ?? "";
}
