import { BoxError } from "../errors";

/** What a container may use, as the user asked for it (docker's flags), validated. */
export interface Limits {
  /** Maximum number of processes (and threads); 0 means unlimited (-1 on the command line). */
  pids: number;
  /** Bytes of memory, or undefined for no limit. */
  memory?: number;
  /** Bytes of memory plus swap (docker's --memory-swap); undefined: equal to memory (no swap); -1: unlimited. */
  memorySwap?: number;
  /** CPUs as a CFS quota: 0.5 is half of one CPU. */
  cpus?: number;
  /** Relative CPU weight in cgroup v1 shares (2..262144), or undefined. */
  cpuShares?: number;
  /** Relative CPU weight in cgroup v2 units (1..10000), or undefined. */
  cpuWeight?: number;
}

/** podman's default: enough for real work, few enough that a fork bomb stops. */
export const DEFAULT_PIDS_LIMIT = 2048;

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "64m", "1g", "512k", "1048576" (bytes), as docker reads them. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new BoxError(`invalid ${flag} "${text}": give a size such as 64m or 1g`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BoxError(`invalid ${flag} "${text}": give a size such as 64m or 1g`);
  return bytes;
}

function integer(text: string, flag: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new BoxError(`invalid ${flag} "${text}": give a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

export interface LimitFlags {
  pidsLimit?: string;
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpuWeight?: string;
}

export function resolveLimits(f: LimitFlags, cpuCount: number): Limits {
  const limits: Limits = { pids: DEFAULT_PIDS_LIMIT };
  if (f.pidsLimit !== undefined) {
    const n = f.pidsLimit === "-1" ? 0 : integer(f.pidsLimit, "--pids-limit", 1, 4194304);
    limits.pids = n;
  }
  if (f.memory !== undefined) {
    limits.memory = parseSize(f.memory, "--memory");
    if (limits.memory < 6 * 1024 ** 2) throw new BoxError(`invalid --memory "${f.memory}": the minimum is 6m`);
  }
  if (f.memorySwap !== undefined) {
    if (limits.memory === undefined) throw new BoxError("--memory-swap needs --memory");
    limits.memorySwap = f.memorySwap === "-1" ? -1 : parseSize(f.memorySwap, "--memory-swap");
    if (limits.memorySwap !== -1 && limits.memorySwap < limits.memory) {
      throw new BoxError(`invalid --memory-swap "${f.memorySwap}": it is memory plus swap, so at least --memory`);
    }
  }
  if (f.cpus !== undefined) {
    const n = Number(f.cpus);
    if (!/^\d+(\.\d+)?$/.test(f.cpus) || !(n >= 0.01) || n > cpuCount) {
      throw new BoxError(`invalid --cpus "${f.cpus}": give a number of CPUs from 0.01 to ${cpuCount}`);
    }
    limits.cpus = n;
  }
  if (f.cpuShares !== undefined) limits.cpuShares = integer(f.cpuShares, "--cpu-shares", 2, 262144);
  if (f.cpuWeight !== undefined) limits.cpuWeight = integer(f.cpuWeight, "--cpu-weight", 1, 10000);
  if (limits.cpuShares !== undefined && limits.cpuWeight !== undefined) throw new BoxError("give --cpu-shares or --cpu-weight, not both");
  return limits;
}

/** The cgroup v2 weight for v1 shares, as runc converts them. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The v1 shares for a v2 weight (the inverse). */
export function weightToShares(weight: number): number {
  return 2 + Math.floor(((weight - 1) * 262142) / 9999);
}

export function humanBytes(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size && n % (size / 1024) === 0) return `${+(n / size).toFixed(2)} ${unit}`;
  }
  return `${n} bytes`;
}
