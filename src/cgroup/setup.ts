import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BoxError } from "../errors";
import { logger } from "../logger";
import type { Mount } from "../spec/types";
import { trace, traceOn } from "../trace";
import type { CgroupHost, Hierarchy } from "./detect";
import { humanBytes, sharesToWeight, weightToShares, type Limits } from "./limits";

/** A container's cgroup, as made on the host: what the plan and the state need to know of it. */
export interface ContainerCgroup {
  /** Directories made for the container (removed after it ends). */
  dirs: string[];
  /** cgroup.procs files the container's first process is written into before it goes on. */
  procs: string[];
  /** cgroup v2: the directory the container can be born in (clone3 CLONE_INTO_CGROUP). */
  cloneInto?: string;
  /** Where the kernel counts OOM kills for it. */
  oom?: { file: string; limit: number };
  /** /sys/fs/cgroup inside the container, read-only, showing its own cgroup as the root. */
  mounts: Mount[];
}

const CPU_PERIOD_US = 100_000;

function write(dir: string, file: string, value: string): void {
  if (traceOn()) trace("cgroup/setup.ts:write", "cgroup-write", { path: join(dir, file), value });
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    throw new BoxError(`cannot set ${file} to ${value.trim()} in ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The controllers this container's limits need; pids always (the default limit). */
function needed(limits: Limits): string[] {
  const out = ["pids"];
  if (limits.memory !== undefined) out.push("memory");
  if (limits.cpus !== undefined || limits.cpuShares !== undefined || limits.cpuWeight !== undefined) out.push("cpu");
  return out;
}

function checkAvailable(host: CgroupHost, limits: Limits): string[] {
  const missing = needed(limits).filter((c) => !host.controllers.includes(c));
  const explicit = missing.filter((c) => c !== "pids" || limits.pids !== 0);
  if (missing.includes("pids") && limits.pids !== 0) {
    // The default pids limit alone is not worth refusing a container for; an asked-for limit is.
    logger.warn("this host has no pids cgroup controller: the container runs without a pids limit");
  }
  const asked = explicit.filter((c) => c !== "pids");
  if (asked.length > 0) {
    const layout = host.mode === "v2" ? `cgroup v2 offers: ${host.controllers.join(" ") || "none"}` : `cgroup ${host.mode} hierarchies: ${host.controllers.join(" ") || "none"}`;
    throw new BoxError(`the ${asked.join(" and ")} cgroup controller${asked.length > 1 ? "s are" : " is"} not available on this host (${layout}): refusing to run without the limit you asked for`);
  }
  return needed(limits).filter((c) => host.controllers.includes(c));
}

/** Where containers' cgroups go by default: box/<id> under box's own cgroup in each hierarchy. */
export const DEFAULT_CGROUP_PARENT = "box";

/**
 * docker's --cgroup-parent: a relative path is taken below box's own cgroup (so a delegated subtree
 * is respected), an absolute one from the root of each hierarchy.
 */
export function checkCgroupParent(parent: string): string {
  const parts = parent.split("/").filter(Boolean);
  if (parts.length === 0 || parts.length > 16 || parts.some((p) => p === "." || p === ".." || !/^[A-Za-z0-9_.:@-]{1,128}$/.test(p))) {
    throw new BoxError(`invalid cgroup parent "${parent}": use names of letters, digits, '_', '.', '-' separated by '/'`);
  }
  return parent;
}

/** The directories from the base (box's own cgroup, or the hierarchy's root) down to the parent. */
function parentChain(h: Hierarchy, parent: string): { base: string; chain: string[] } {
  const base = parent.startsWith("/") ? h.mount : join(h.mount, h.own);
  const chain: string[] = [];
  let dir = base;
  for (const part of parent.split("/").filter(Boolean)) chain.push((dir = join(dir, part)));
  return { base, chain };
}

function ensureParent(h: Hierarchy, parent: string): string {
  const { base, chain } = parentChain(h, parent);
  for (const dir of chain) if (!existsSync(dir)) mkdirSync(dir);
  return chain.at(-1) ?? base;
}

/**
 * Every directory a container's cgroups can have on this host, whether made or not: what a
 * collector removes when box was killed before it could record them.
 */
export function cgroupDirsFor(host: CgroupHost, id: string, parent = DEFAULT_CGROUP_PARENT): string[] {
  const hierarchies = host.mode === "v2" ? [host.unified!] : ["pids", "memory", "cpu", "cpuacct"].flatMap((c) => (host.v1[c] ? [host.v1[c]!] : []));
  return [...new Set(hierarchies.map((h) => join(parentChain(h, parent).chain.at(-1) ?? parentChain(h, parent).base, id)))];
}

/** Makes the container's cgroup(s) and writes its limits. Undo with removeCgroup(result.dirs). */
export function createCgroup(host: CgroupHost, id: string, limits: Limits, parent = DEFAULT_CGROUP_PARENT): ContainerCgroup {
  const usable = checkAvailable(host, limits);
  const made: string[] = [];
  try {
    return host.mode === "v2" ? createV2(host, id, limits, usable, made, parent) : createV1(host, id, limits, made, parent);
  } catch (err) {
    removeCgroup(made);
    throw err;
  }
}

function mkdir(dir: string, made: string[]): void {
  trace("cgroup/setup.ts:mkdir", "cgroup-dir", { path: dir });
  mkdirSync(dir);
  made.push(dir);
}

function createV2(host: CgroupHost, id: string, limits: Limits, usable: string[], made: string[], parentPath: string): ContainerCgroup {
  const u = host.unified!;
  const parent = ensureParent(u, parentPath);
  const { base, chain } = parentChain(u, parentPath);
  // Controllers are handed down level by level: to box's own cgroup's children, then to each level
  // of the parent's.
  const enable = usable.map((c) => `+${c}`).join(" ");
  if (enable) {
    for (const dir of [base, ...chain]) {
      try {
        writeFileSync(join(dir, "cgroup.subtree_control"), enable);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new BoxError(
          code === "EBUSY"
            ? `cannot delegate cgroup controllers below ${dir}: it holds processes (cgroup v2 allows controllers only between empty cgroups); run box from the root cgroup or a delegated subtree`
            : `cannot enable the ${usable.join(", ")} controllers in ${dir}: ${code ?? String(err)}`,
        );
      }
    }
  }
  const dir = join(parent, id);
  mkdir(dir, made);
  if (usable.includes("pids")) write(dir, "pids.max", limits.pids === 0 ? "max" : String(limits.pids));
  if (limits.memory !== undefined) {
    write(dir, "memory.max", String(limits.memory));
    const swap = limits.memorySwap === undefined ? 0 : limits.memorySwap === -1 ? "max" : String(limits.memorySwap - limits.memory);
    if (existsSync(join(dir, "memory.swap.max"))) write(dir, "memory.swap.max", String(swap));
  }
  if (limits.cpus !== undefined) write(dir, "cpu.max", `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
  const weight = limits.cpuWeight ?? (limits.cpuShares !== undefined ? sharesToWeight(limits.cpuShares) : undefined);
  if (weight !== undefined) write(dir, "cpu.weight", String(weight));
  return {
    dirs: made,
    procs: [join(dir, "cgroup.procs")],
    cloneInto: dir,
    oom: limits.memory !== undefined ? { file: join(dir, "memory.events"), limit: limits.memory } : undefined,
    mounts: [{ destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev", "ro"], mountpoint: "dir" }],
  };
}

/** v1 and hybrid: the container joins the pids, memory, cpu and cpuacct hierarchies there are. */
function createV1(host: CgroupHost, id: string, limits: Limits, made: string[], parentPath: string): ContainerCgroup {
  const joined = new Map<string, string>(); // hierarchy mount -> container's dir in it
  const dirOf = (controller: string): string | undefined => {
    const h = host.v1[controller];
    if (!h) return undefined;
    let dir = joined.get(h.mount);
    if (!dir) {
      dir = join(ensureParent(h, parentPath), id);
      mkdir(dir, made);
      joined.set(h.mount, dir);
    }
    return dir;
  };
  for (const c of ["pids", "memory", "cpu", "cpuacct"]) dirOf(c);
  const pids = dirOf("pids");
  if (pids) write(pids, "pids.max", limits.pids === 0 ? "max" : String(limits.pids));
  const mem = dirOf("memory");
  if (mem && limits.memory !== undefined) {
    write(mem, "memory.limit_in_bytes", String(limits.memory));
    // memsw is memory plus swap: equal to the limit means no swap (docker's default).
    if (existsSync(join(mem, "memory.memsw.limit_in_bytes"))) {
      write(mem, "memory.memsw.limit_in_bytes", limits.memorySwap === -1 ? "-1" : String(limits.memorySwap ?? limits.memory));
    } else if (limits.memorySwap === undefined) {
      write(mem, "memory.swappiness", "0");
    }
  }
  const cpu = dirOf("cpu");
  if (cpu && limits.cpus !== undefined) {
    write(cpu, "cpu.cfs_period_us", String(CPU_PERIOD_US));
    write(cpu, "cpu.cfs_quota_us", String(Math.round(limits.cpus * CPU_PERIOD_US)));
  }
  const shares = limits.cpuShares ?? (limits.cpuWeight !== undefined ? weightToShares(limits.cpuWeight) : undefined);
  if (cpu && shares !== undefined) write(cpu, "cpu.shares", String(shares));

  // Inside: a tmpfs with one read-only cgroup mount per joined hierarchy, each showing the
  // container's cgroup as its root (the container has its own cgroup namespace), then the tmpfs
  // made read-only too.
  const mounts: Mount[] = [{ destination: "/sys/fs/cgroup", type: "tmpfs", source: "cgroup", options: ["nosuid", "noexec", "nodev", "mode=755", "size=64k"], mountpoint: "dir" }];
  for (const mount of joined.keys()) {
    const controllers = Object.entries(host.v1).filter(([, h]) => h.mount === mount).map(([c]) => c);
    mounts.push({ destination: `/sys/fs/cgroup/${basename(mount)}`, type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro", ...controllers], mountpoint: "dir" });
  }
  mounts.push({ destination: "/sys/fs/cgroup", type: "remount", source: "", options: ["nosuid", "noexec", "nodev", "ro", "mode=755", "size=64k"], mountpoint: "dir" });
  return {
    dirs: made,
    procs: [...joined.values()].map((d) => join(d, "cgroup.procs")),
    oom: mem && limits.memory !== undefined ? { file: join(mem, "memory.oom_control"), limit: limits.memory } : undefined,
    mounts,
  };
}

/**
 * Removes cgroup directories. A cgroup whose processes are still dying (the kernel tears a PID
 * namespace down just after its init) is busy for a moment: tried again for up to waitMs. Returns
 * whether all are gone, so a caller can keep what it needs to try again later. Directories are
 * listed parents first and removed children first. With sharedParents (box-runc's cgroupsPath, whose
 * parents it made may hold other containers' cgroups by now), one that is not empty is left alone.
 */
export function removeCgroup(dirs: readonly string[], waitMs = 0, sharedParents = false): boolean {
  let all = true;
  for (const dir of [...dirs].reverse()) {
    for (let waited = 0; ; waited += 10) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || (sharedParents && code === "ENOTEMPTY")) break;
        if (code !== "EBUSY" || waited >= waitMs) {
          all = false;
          break;
        }
        Bun.sleepSync(10);
      }
    }
  }
  return all;
}

/** What box says when the OOM killer acted: the command was killed, or another of its processes. */
export function oomMessages(limit: number, argv0: string): [killed: string, other: string] {
  const reached = `out of memory: the container reached its memory limit of ${humanBytes(limit)}`;
  return [`${reached} and the kernel killed ${argv0}`, `${reached} and the kernel killed one of its processes`];
}
