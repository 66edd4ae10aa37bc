/**
 * What a running container uses now, read from its own cgroups (cgroup v1 and v2 files alike) and
 * its network namespace: the figures of box stats, and the processes of box top.
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import { isPid } from "../store/process";

function read(dirs: readonly string[], file: string): string | undefined {
  for (const dir of dirs) {
    try {
      return readFileSync(join(dir, file), "utf8");
    } catch {
      /* not in this hierarchy */
    }
  }
  return undefined;
}

function num(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat) as a map. */
function keyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of (text ?? "").split("\n")) {
    const [k, v] = l.split(" ");
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** The processes in the container's cgroups (host pids), in order. */
export function containerPids(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    try {
      for (const p of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (isPid(Number(p))) pids.add(Number(p));
    } catch {
      /* gone */
    }
  }
  return [...pids].sort((a, b) => a - b);
}

export interface Sample {
  at: number;
  /** CPU time used, in nanoseconds. */
  cpuNs: number;
  memUsage: number;
  memLimit: number;
  pids: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
}

/** Received and sent bytes of the container's interfaces (loopback excluded), seen through its init. */
function network(init: number, shared: boolean): [number, number] {
  if (shared) return [0, 0];
  let rx = 0, tx = 0;
  try {
    for (const l of readFileSync(`/proc/${init}/net/dev`, "utf8").split("\n").slice(2)) {
      const [name, rest] = l.split(":");
      if (!rest || name!.trim() === "lo") continue;
      const f = rest.trim().split(/\s+/).map(Number);
      rx += f[0] ?? 0;
      tx += f[8] ?? 0;
    }
  } catch {
    /* ended meanwhile */
  }
  return [rx, tx];
}

function blockIo(dirs: readonly string[]): [number, number] {
  let r = 0, w = 0;
  const v2 = read(dirs, "io.stat");
  if (v2 !== undefined) {
    for (const m of v2.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
      r += Number(m[1]);
      w += Number(m[2]);
    }
    return [r, w];
  }
  for (const l of (read(dirs, "blkio.throttle.io_service_bytes") ?? "").split("\n")) {
    const [, op, n] = l.split(" ");
    if (op === "Read") r += Number(n);
    else if (op === "Write") w += Number(n);
  }
  return [r, w];
}

export function sample(dirs: readonly string[], init: number, sharedNetwork: boolean): Sample {
  const host = totalmem();
  // cgroup v2: memory.current, less the page cache that can be dropped; v1: usage_in_bytes likewise.
  const v2mem = num(read(dirs, "memory.current"));
  let memUsage: number, memLimit: number;
  if (v2mem !== undefined) {
    memUsage = v2mem - (keyed(read(dirs, "memory.stat")).get("inactive_file") ?? 0);
    const max = read(dirs, "memory.max")?.trim();
    memLimit = max === undefined || max === "max" ? host : Number(max);
  } else {
    memUsage = (num(read(dirs, "memory.usage_in_bytes")) ?? 0) - (keyed(read(dirs, "memory.stat")).get("total_inactive_file") ?? 0);
    memLimit = Math.min(num(read(dirs, "memory.limit_in_bytes")) ?? host, host);
  }
  const usec = keyed(read(dirs, "cpu.stat")).get("usage_usec");
  const cpuNs = usec !== undefined ? usec * 1000 : (num(read(dirs, "cpuacct.usage")) ?? 0);
  const [netRx, netTx] = network(init, sharedNetwork);
  const [blkRead, blkWrite] = blockIo(dirs);
  return { at: performance.now(), cpuNs, memUsage: Math.max(0, memUsage), memLimit, pids: num(read(dirs, "pids.current")) ?? containerPids(dirs).length, netRx, netTx, blkRead, blkWrite };
}

/** CPU use between two samples, as docker's CPU %: 100 per CPU kept busy. */
export function cpuPercent(a: Sample, b: Sample): number {
  const wallNs = (b.at - a.at) * 1e6;
  return wallNs > 0 ? Math.max(0, ((b.cpuNs - a.cpuNs) / wallNs) * 100) : 0;
}
