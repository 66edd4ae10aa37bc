/**
 * What `box container prune` and `box system prune` remove: every container that does not run (and
 * with system prune -a, every image no container uses), after docker's question unless -f.
 */
import { readSync } from "node:fs";
import { join } from "node:path";
import { removeContainer } from "../container/remove";
import { isBusy } from "../container/state";
import { logger } from "../logger";
import { containerDir, listContainers } from "../store/containers";
import type { Layout } from "../store/layout";
import { dirSize, humanSize } from "./container-rows";
import { out } from "../sys/out";

/** docker's "[y/N]" question, answered on stdin; anything but y or yes is no. */
export function confirm(question: string): boolean {
  out(`${question} [y/N] `);
  const buf = Buffer.alloc(256);
  let answer = "";
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch {
      break;
    }
    if (n <= 0) break;
    answer += buf.subarray(0, n).toString();
    if (answer.includes("\n")) break;
  }
  return /^\s*y(es)?\s*$/i.test(answer.split("\n")[0] ?? "");
}

export interface Pruned {
  ids: string[];
  bytes: number;
}

/** Removes every container that is not running; what each held on disk is counted. */
export function pruneContainers(layout: Layout): Pruned {
  const out: Pruned = { ids: [], bytes: 0 };
  for (const l of listContainers(layout)) {
    if (isBusy(layout, l.id)) continue;
    const size = dirSize(join(containerDir(layout, l.id), "upper"));
    if (removeContainer(layout, l.id, "record" in l ? l.record : undefined)) {
      out.ids.push(l.id);
      out.bytes += size;
    } else logger.warn(`container ${l.id.slice(0, 12)} cannot be removed yet: its cgroup is still busy`);
  }
  return out;
}

export function reportPruned(what: string, pruned: Pruned): void {
  if (pruned.ids.length > 0) out(`Deleted ${what}:\n${pruned.ids.join("\n")}\n\n`);
}

export function reportTotal(bytes: number): void {
  out(`Total reclaimed space: ${humanSize(bytes)}\n`);
}
