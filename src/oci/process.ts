/**
 * config.json's process as plan records: the command, its environment, user, umask, capability
 * sets, no_new_privs, seccomp filter, rlimits and oom_score_adj. Shared by create/run and exec.
 *
 * A capability box itself does not hold on this host (here: SYS_RESOURCE is outside its bounding
 * set) cannot be given: asking for it in the effective, permitted, inheritable or ambient set is
 * refused by name, as the kernel would refuse it half-way through the start.
 */
import { readFileSync } from "node:fs";
import { BoxError } from "../errors";
import { CAPABILITIES, capabilityMask } from "../spec/capabilities";
import { RLIMITS as KERNEL_RLIMITS, searchPath, type PlanRecord } from "../spec/plan";
import type { OciProcess, OciRlimit } from "./config";

export const DEFAULT_UMASK = 0o022;

export const RLIMITS = [
  "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
  "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
];
export const RLIM_INFINITY = (1n << 64n) - 1n;

/** The capabilities box holds (its bounding set), by name. */
export function heldCapabilities(): Set<string> {
  const line = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  const mask = BigInt("0x" + (line?.[1] ?? "0"));
  return new Set(Object.entries(CAPABILITIES).filter(([, n]) => (mask >> BigInt(n)) & 1n).map(([name]) => name));
}

function capabilitySet(names: readonly string[] | undefined, at: string, held: Set<string>, mustHold: boolean): string[] {
  const out: string[] = [];
  for (const n of names ?? []) {
    const name = n.toUpperCase().replace(/^CAP_/, "");
    if (!(name in CAPABILITIES)) throw new BoxError(`config.json: ${at} names an unknown capability "${n}"`, 1);
    if (mustHold && !held.has(name)) throw new BoxError(`config.json: ${at} names ${n}, which box itself does not hold on this host`, 1);
    out.push(name);
  }
  return out;
}

function rlimitRecords(rlimits: readonly OciRlimit[] | undefined, at: string): PlanRecord[] {
  const seen = new Set<string>();
  return (rlimits ?? []).map((r, i) => {
    if (!RLIMITS.includes(r.type)) throw new BoxError(`config.json: ${at}[${i}].type "${r.type}" is not an rlimit`, 1);
    if (seen.has(r.type)) throw new BoxError(`config.json: ${at} sets ${r.type} twice`, 1);
    seen.add(r.type);
    if (r.soft > r.hard) throw new BoxError(`config.json: ${at}[${i}] has a soft limit above its hard limit`, 1);
    const v = (x: bigint) => (x >= RLIM_INFINITY ? "unlimited" : x.toString());
    // The kernel's number of the resource (src/spec/process-plan.ts), as the helper reads it.
    return ["rlimit", String(KERNEL_RLIMITS[r.type]), v(r.soft), v(r.hard)] as PlanRecord;
  });
}

export interface ProcessOptions {
  /** The compiled seccomp filter (hex). */
  seccomp?: string;
  /** A fresh session keyring (runc's default; --no-new-keyring leaves the caller's). */
  keyring: boolean;
  /** The capabilities box holds. */
  held: Set<string>;
  warn?: (message: string) => void;
}

export function processRecords(p: OciProcess, at: string, o: ProcessOptions): PlanRecord[] {
  const env = p.env ?? [];
  for (const e of env) if (!e.includes("=")) throw new BoxError(`config.json: ${at}.env holds "${e.slice(0, 60)}", not KEY=VALUE`, 1);
  const c = p.capabilities ?? {};
  const sets = [
    capabilitySet(c.bounding, `${at}.capabilities.bounding`, o.held, false),
    capabilitySet(c.effective, `${at}.capabilities.effective`, o.held, true),
    capabilitySet(c.permitted, `${at}.capabilities.permitted`, o.held, true),
    capabilitySet(c.inheritable, `${at}.capabilities.inheritable`, o.held, true),
    capabilitySet(c.ambient, `${at}.capabilities.ambient`, o.held, true),
  ];
  // The kernel raises an ambient capability only when it is inheritable and permitted: the others
  // are left out, with a warning, as runc does (this gives less, never more).
  const [, , permitted, inheritable, ambient] = sets;
  const dropped = ambient!.filter((c) => !permitted!.includes(c) || !inheritable!.includes(c));
  if (dropped.length > 0) {
    o.warn?.(`${at}.capabilities.ambient: ${dropped.map((c) => `CAP_${c}`).join(", ")} left out: an ambient capability must be inheritable and permitted too`);
    sets[4] = ambient!.filter((c) => !dropped.includes(c));
  }
  const u = p.user;
  const r: PlanRecord[] = [
    ["argv", ...p.args],
    ["env", ...env],
    ["path", searchPath(env)],
    ["cwd", p.cwd],
    ["user", String(u.uid), String(u.gid), ...(u.additionalGids ?? []).map(String)],
    ["umask", (u.umask ?? DEFAULT_UMASK).toString(8)],
    ["caps", ...sets.map(capabilityMask)],
  ];
  if (p.noNewPrivileges) r.push(["nonewprivs"]);
  if (o.seccomp !== undefined) r.push(["seccomp", o.seccomp]);
  if (o.keyring) r.push(["keyring"]);
  r.push(["tty", p.terminal ? "1" : "0"], ["stdin", "1"]);
  r.push(...rlimitRecords(p.rlimits, `${at}.rlimits`));
  if (p.oomScoreAdj !== undefined) r.push(["oom_score_adj", String(p.oomScoreAdj)]);
  return r;
}
