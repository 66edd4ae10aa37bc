/**
 * One hyperfine run of several commands, as `npm run bench` makes them: -N (no shell), medians in
 * milliseconds by name. crun refuses this machine's hybrid cgroup layout while the empty cgroup2
 * mount is there, so every run happens in a private mount namespace without it (environment.md);
 * that changes nothing for the others.
 */
import { $ } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Timing {
  median: number;
  mean: number;
  stddev: number;
}

export interface HyperfineOptions {
  runs: number;
  warmup?: number;
  /** a command hyperfine runs before each timed one (through sh) */
  prepare?: string;
  /** without -N: the commands are shell lines (pipelines) */
  shell?: boolean;
}

const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;

export async function hyperfine(work: string, label: string, commands: Array<[string, string]>, o: HyperfineOptions): Promise<Record<string, Timing>> {
  const json = join(work, `${label}.json`);
  const args = ["hyperfine", ...(o.shell ? [] : ["-N"]), "--warmup", String(o.warmup ?? 3), "--runs", String(o.runs), "--export-json", json];
  if (o.prepare) args.push("--prepare", o.prepare);
  for (const [name, cmd] of commands) args.push("-n", name, cmd);
  const script = `umount -l /sys/fs/cgroup/unified 2>/dev/null; exec ${args.map(quote).join(" ")}`;
  await $`unshare -m sh -c ${script}`;
  const results = JSON.parse(readFileSync(json, "utf8")).results as Array<{ command: string; median: number; mean: number; stddev: number }>;
  const out: Record<string, Timing> = {};
  for (const r of results) out[r.command] = { median: r.median * 1000, mean: r.mean * 1000, stddev: r.stddev * 1000 };
  return out;
}

/** "12.3 ms" */
export const ms = (x: number) => `${x.toFixed(1)} ms`;

/** A ratio and whether it holds: "1.07 (target at most 1.10: met)". */
export function against(ratio: number, target: number): string {
  return `${ratio.toFixed(2)} (target at most ${target.toFixed(2)}: ${ratio <= target ? "met" : "NOT met"})`;
}
