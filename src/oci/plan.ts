/**
 * A container of config.json as the helper's plan (src/spec/plan.ts frames it, helper/ reads it):
 *
 *   namespaces: new ones cloned, those with a path joined (ns_path)
 *   the root: bound onto itself, the config's mounts in order (mounts.ts; cgroup mounts:
 *     cgroupmounts.ts), the devices and links of a /dev of its own (devices.ts), masked and
 *     read-only paths, then the root itself read-only when asked
 *   hostname, domain name, loopback in a new network namespace, namespaced sysctls
 *   the process (process.ts); PID 1 is the command itself, as with runc (no box init)
 *   the cgroups the first process joins; hooks with the state they read
 *   create: held at the FIFO and handed over (handoff); run: supervised, cleaned up when it ends
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { BoxError } from "../errors";
import type { PlanRecord } from "../spec/plan";
import type { OciConfig, OciHook } from "./config";
import { HOOK_KINDS } from "./config";
import { deviceRecords } from "./devices";
import { MS, PROPAGATION, mkdirs, mountRecords } from "./mounts";
import { cgroupMountRecords, type CgroupMountInput } from "./cgroupmounts";
import { processRecords } from "./process";

const NS_NAMES = { mount: "mount", uts: "uts", ipc: "ipc", network: "net", pid: "pid", cgroup: "cgroup" } as const;

export interface PlanInput {
  config: OciConfig;
  bundle: string;
  rootfs: string;
  /** The state the hooks read, split around the status and the pid (helper/hooks.c). */
  hookState: [string, string, string];
  cgroups: CgroupMountInput & { procs: string[]; cloneInto?: string; made: string[] };
  seccomp?: string;
  keyring: boolean;
  held: Set<string>;
  /** Where the helper records the container's process (the state's pid file). */
  pidFile: string;
  /** --pid-file */
  ociPidFile?: string;
  consoleSocket?: string;
  /** create: the FIFO start opens; run: none. */
  hold?: string;
  /** create and run -d: return once held (or running), leaving the container to box-runc's caller. */
  handoff: boolean;
  /** What the helper removes when the container could not be made (create) or ended (run). */
  cleanup: string[];
  report: { format: "text" | "json"; log?: string };
  warn?: (message: string) => void;
}

/** The namespaces that are the container's: new ones, and those joined by a path that is not
 * one of box's own (a namespace of the host joined by path is the host's). */
function ownNamespaces(namespaces: ReadonlyArray<{ type: string; path?: string }>): Set<string> {
  const procName: Record<string, string> = { network: "net", mount: "mnt", ipc: "ipc", uts: "uts", pid: "pid", cgroup: "cgroup" };
  const own = new Set<string>();
  for (const n of namespaces) {
    if (!n.path) own.add(n.type);
    else {
      try {
        const a = statSync(n.path), b = statSync(`/proc/self/ns/${procName[n.type]}`);
        if (a.ino !== b.ino || a.dev !== b.dev) own.add(n.type);
      } catch {
        own.add(n.type); // the helper says why it cannot be joined
      }
    }
  }
  return own;
}

/** Namespaced sysctls only (runc's rules): the others would change the host. */
export function checkSysctl(key: string, newNs: Set<string>): void {
  const ipc = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];
  if (ipc.includes(key) || key.startsWith("fs.mqueue.")) {
    if (!newNs.has("ipc")) throw new BoxError(`config.json: linux.sysctl ${key} needs an IPC namespace of the container's own`, 1);
    return;
  }
  if (key.startsWith("net.")) {
    if (!newNs.has("network")) throw new BoxError(`config.json: linux.sysctl ${key} needs a network namespace of the container's own`, 1);
    return;
  }
  if (key === "kernel.hostname" || key === "kernel.domainname") {
    if (!newNs.has("uts")) throw new BoxError(`config.json: linux.sysctl ${key} needs a UTS namespace of the container's own`, 1);
    return;
  }
  throw new BoxError(`config.json: linux.sysctl ${key} is not namespaced: setting it would change the host`, 1);
}

function hookRecords(config: OciConfig): PlanRecord[] {
  const r: PlanRecord[] = [];
  for (const kind of HOOK_KINDS) {
    for (const h of (config.hooks?.[kind] ?? []) as OciHook[]) {
      r.push(["hook", kind, String(h.timeout ?? 0), h.path, ...(h.args && h.args.length > 0 ? h.args : [h.path])]);
      if (h.env) r.push(["hook_env", ...h.env]);
    }
  }
  return r;
}

export function planFor(input: PlanInput): PlanRecord[] {
  const { config } = input;
  const linux = config.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const created = new Set(namespaces.filter((n) => !n.path).map((n) => n.type));
  const types = namespaces.map((n) => n.type);
  if (new Set(types).size !== types.length) throw new BoxError("config.json: linux.namespaces names one type twice", 1);
  if (!created.has("mount") && !namespaces.some((n) => n.type === "mount")) throw new BoxError("config.json: linux.namespaces has no mount namespace: box needs one to build the container's root", 1);
  const r: PlanRecord[] = [];
  r.push(["ns", ...[...created].map((t) => NS_NAMES[t])]);
  for (const n of namespaces) if (n.path) r.push(["ns_path", NS_NAMES[n.type], n.path]);
  r.push(["rootfs", input.rootfs]);
  r.push(["host_mount", input.rootfs, input.rootfs, "", String(MS.bind | MS.rec), ""]);

  // Inside the root: the working directory, the mounts in order, /dev, masks, read-only.
  const seen = new Set<string>();
  const proc = config.process!;
  (config.mounts ?? []).forEach((m, i) => {
    const at = `mounts[${i}]`;
    if (m.type === "cgroup" || m.type === "cgroup2") r.push(...cgroupMountRecords(m, at, input.cgroups, created.has("cgroup"), seen));
    else r.push(...mountRecords(m, at, input.bundle, seen));
  });
  r.push(...deviceRecords(config, seen));
  for (const p of linux.maskedPaths ?? []) r.push(["mask", p]);
  // The container's sysctls: once its /proc is mounted, before /proc/sys may be made read-only.
  const own = ownNamespaces(namespaces);
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    checkSysctl(key, own);
    r.push(["sysctl_in", key.replace(/\./g, "/"), value]);
  }
  for (const p of linux.readonlyPaths ?? []) r.push(["readonly", p]);
  r.push(...mkdirs(proc.cwd, seen));
  if (config.root?.readonly) r.push(["mount", "", "/", "", String(MS.bind | MS.remount | MS.rdonly), ""]);

  if (config.hostname !== undefined) {
    if (!own.has("uts")) throw new BoxError("config.json: hostname needs a UTS namespace of the container's own", 1);
    r.push(["hostname", config.hostname]);
  }
  if (config.domainname !== undefined) {
    if (!own.has("uts")) throw new BoxError("config.json: domainname needs a UTS namespace of the container's own", 1);
    r.push(["domainname", config.domainname]);
  }
  if (created.has("network")) r.push(["loopback"]);
  if (linux.rootfsPropagation) r.push(["root_propagation", String(PROPAGATION[linux.rootfsPropagation])]);

  r.push(...processRecords(proc, "process", { seccomp: input.seccomp, keyring: input.keyring, held: input.held, warn: input.warn }));
  r.push(["pid1"]);
  if (proc.terminal && input.consoleSocket) {
    r.push(["console_socket", input.consoleSocket]);
    if (proc.consoleSize) r.push(["console_size", String(proc.consoleSize.height), String(proc.consoleSize.width)]);
  }
  // cgroup v1: the first process writes 0 into each tasks file itself, which spares the kernel's RCU
  // wait of moving another process (src/spec/process-plan.ts); v2: it is born in its cgroup.
  for (const c of input.cgroups.procs) r.push(input.cgroups.cloneInto ? ["cgroup", c] : ["cgroup_tasks", join(dirname(c), "tasks")]);
  if (input.cgroups.cloneInto) r.push(["clone_into", input.cgroups.cloneInto]);
  // Handed over (create, run -d), the container's cgroups go with box-runc delete; else with the helper.
  if (!input.handoff) for (const d of [...input.cgroups.made].reverse()) r.push(["rmcgroup", d, "200", "10"]);
  r.push(["pidfile", input.pidFile, "644"]);
  if (input.ociPidFile) r.push(["oci_pidfile", input.ociPidFile]);
  if (input.hold) r.push(["hold", input.hold]);
  if (input.handoff) r.push(["handoff"]);
  r.push(...hookRecords(config));
  if (r.some((x) => x[0] === "hook")) r.push(["hook_state", ...input.hookState]);
  r.push(["report_format", input.report.format, input.report.log ?? ""]);
  for (const c of input.cleanup) r.push(["cleanup", c]);
  return r;
}
