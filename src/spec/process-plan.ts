/**
 * The plan's records of the command and what confines it (src/spec/plan.ts writes the rest):
 * shared by a new container and by box exec, which also joins a running container's init and
 * cgroups from here.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEFAULT_PATH } from "./build";
import { capabilityMask } from "./capabilities";
import type { PlanRecord } from "./plan";
import { execJoinRecords } from "./plan-userns";
import type { Spec } from "./types";

/** The command's umask, as a freshly started program expects it. */
export const COMMAND_UMASK = "022";

/**
 * How a new process gets into its cgroups. cgroup v2 (the spec has a clone_into directory): it is
 * born in it, or else the supervisor writes its pid into cgroup.procs. cgroup v1: it writes "0"
 * into each hierarchy's tasks file (beside cgroup.procs) itself, which moves only the writer and
 * spares the kernel's wait for an RCU grace period that moving another process costs (10-15 ms).
 */
export function cgroupRecords(spec: Spec, procs: readonly string[]): PlanRecord[] {
  if (spec.box.cloneInto) return procs.map((c): PlanRecord => ["cgroup", c]);
  return procs.map((c): PlanRecord => ["cgroup_tasks", join(dirname(c), "tasks")]);
}

/** The kernel's numbers of the resource limits (<sys/resource.h>), by their OCI names. */
export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** rlimit RESOURCE SOFT HARD: the kernel's number, each limit decimal or "unlimited" (-1 in the spec). */
export function rlimitRecord(l: { type: string; soft: number; hard: number }): PlanRecord {
  const resource = RLIMITS[l.type];
  if (resource === undefined) throw new Error(`unknown resource limit ${l.type}`);
  const text = (v: number) => (v < 0 ? "unlimited" : String(v));
  return ["rlimit", String(resource), text(l.soft), text(l.hard)];
}

/** Where a command without a '/' is looked up: the PATH of its environment, else the default one. */
export function searchPath(env: readonly string[]): string {
  const path = env.findLast((e) => e.startsWith("PATH="));
  return path !== undefined ? path.slice(5) : DEFAULT_PATH;
}

/** The command and what confines it: shared by a new container and by exec into a running one.
 * noSetgroups: its user namespace maps one id and denies setgroups, so the groups stay as they are. */
export function processRecords(proc: Spec["process"], seccomp: string | undefined, sessionKeyring: boolean, noSetgroups = false): PlanRecord[] {
  const r: PlanRecord[] = [];
  r.push(["argv", ...proc.args]);
  r.push(["env", ...proc.env]);
  r.push(["path", searchPath(proc.env)]);
  r.push(["cwd", proc.cwd]);
  const u = proc.user;
  r.push(["user", String(u.uid), String(u.gid), ...u.additionalGids.map(String)]);
  r.push(["umask", COMMAND_UMASK]);
  const c = proc.capabilities;
  r.push(["caps", ...[c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map(capabilityMask)]);
  if (proc.noNewPrivileges) r.push(["nonewprivs"]);
  if (seccomp !== undefined) r.push(["seccomp", seccomp]);
  if (sessionKeyring) r.push(["keyring"]);
  if (noSetgroups) r.push(["nosetgroups"]);
  r.push(["tty", proc.terminal ? "1" : "0"]);
  r.push(["stdin", proc.stdin ? "1" : "0"]);
  for (const l of proc.rlimits ?? []) r.push(rlimitRecord(l));
  return r;
}

/**
 * exec into a running container: join the namespaces and root of its init (by its host pid and
 * start time: the helper pins it with a pidfd and refuses a process that merely reuses the pid)
 * and its cgroups (and its user and time namespaces, when it has them), then run the process with
 * the container's own confinement.
 *
 * initStart is field 22 of /proc/PID/stat, which the supervisor records as the pidfile's 4th field.
 * Without it (a caller that does not pass it yet), it is read here, at once: the helper then
 * checks that the process it pins is still the one read now.
 */
export function execRecords(spec: Spec, proc: Spec["process"], init: number, cgroupProcs: readonly string[], initStart?: string): PlanRecord[] {
  return [
    ["join", String(init), initStart ?? startTime(init)],
    ...execJoinRecords(spec),
    ...processRecords(proc, spec.linux.seccomp, spec.box.sessionKeyring, spec.box.userns?.single),
    ...cgroupRecords(spec, cgroupProcs),
  ];
}

/** Field 22 of /proc/PID/stat; "0" (which no process has) when it is gone. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "0";
  } catch {
    return "0";
  }
}
