import { readFileSync } from "node:fs";
import { DEFAULT_PATH } from "./build";
import { capabilityMask } from "./capabilities";
import { execJoinRecords, usernsRecords } from "./plan-userns";
import type { Spec } from "./types";

export { idMapRecords } from "./plan-userns";

/**
 * The plan: the spec translated into the flat step list the helper executes (helper/plan.c reads
 * it, helper/plan_records.c says what each record holds; `box-helper --check` prints what it read).
 *
 *   u32 little-endian body length, then the body:
 *   "BOXPLAN" NUL "2" NUL, then records: key NUL count NUL field NUL ... (count fields)
 *
 * All decisions are already made here: mount flags are decimal numbers, modes octal, capability
 * sets hex masks, the order of records is the order of the steps. Policy the helper used to hold
 * is here too: where a command is looked up, the container's interface name, the clean-up's
 * retries and environment, the modes of the files the helper writes.
 */
export const PLAN_VERSION = "2";

/** The name of the container's end of its veth pair. */
export const CONTAINER_INTERFACE = "eth0";
/** A cgroup is busy until the kernel has reaped the namespace's last process: tried this often. */
export const CGROUP_REMOVAL = { tries: 200, intervalMs: 10 };
/** The environment of the programs run after a container (nft, removing its table). */
export const CLEANUP_ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
/** Modes of the files the helper writes: the log, the pidfile, the exit file. */
export const FILE_MODES = { log: "640", pidfile: "644", exitfile: "644" };
/** The command's umask, as a freshly started program expects it. */
export const COMMAND_UMASK = "022";

export type PlanRecord = [key: string, ...fields: string[]];

/** Mount flags from <sys/mount.h>, by the names `box-helper --check` prints them with. */
export const MS = {
  ro: 0x1,
  nosuid: 0x2,
  nodev: 0x4,
  noexec: 0x8,
  remount: 0x20,
  bind: 0x1000,
  rec: 0x4000,
  private: 0x40000,
  strictatime: 0x1000000,
  relatime: 0x200000,
} as const;

const FLAG_OPTIONS: Record<string, number> = {
  ro: MS.ro,
  rw: 0,
  nosuid: MS.nosuid,
  nodev: MS.nodev,
  noexec: MS.noexec,
  strictatime: MS.strictatime,
  relatime: MS.relatime,
  bind: MS.bind,
  rbind: MS.bind | MS.rec,
};

/** Splits OCI mount options into kernel flags and the filesystem's data string. */
export function mountFlags(options: readonly string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const opt of options) {
    const flag = FLAG_OPTIONS[opt];
    if (flag === undefined) data.push(opt);
    else flags |= flag;
  }
  return { flags, data: data.join(",") };
}

const NS_NAMES: Record<Spec["linux"]["namespaces"][number], string> = {
  mount: "mount",
  uts: "uts",
  ipc: "ipc",
  network: "net",
  pid: "pid",
  cgroup: "cgroup",
  user: "user",
  time: "time",
};

/** mkdir -p, one record per component, so each component is checked inside the root. */
function mkdirs(path: string): PlanRecord[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => ["mkdir", "/" + parts.slice(0, i + 1).join("/"), "755"] as PlanRecord);
}

export function planRecords(spec: Spec): PlanRecord[] {
  const r: PlanRecord[] = [];
  r.push(["ns", ...spec.linux.namespaces.map((n) => NS_NAMES[n])]);
  r.push(["rootfs", spec.root.path]);

  // The root: an overlay over the image, or the directory bound onto itself; either way a mount
  // point, which pivot_root needs.
  // The root is nodev: a device node made in it cannot be opened.
  const root = spec.box.rootfs;
  if (root.kind === "overlay") {
    const layers = `lowerdir=${root.lowers.join(":")},upperdir=${root.upper},workdir=${root.work}`;
    // fuse-overlayfs's root is the mounter's (spec.box.userns.fuse).
    if (!root.fuse) r.push(["host_mount", "overlay", root.merged, "overlay", String(MS.nodev), layers + (root.userxattr ? ",userxattr" : "")]);
  } else {
    r.push(["host_mount", root.path, root.path, "", String(MS.bind | MS.rec), ""]);
    r.push(["host_mount", "", root.path, "", String(MS.bind | MS.remount | MS.nodev), ""]);
  }

  const seen = new Set<string>();
  for (const dir of spec.box.dirs) {
    for (const rec of mkdirs(dir)) {
      if (!seen.has(rec[1]!)) r.push(rec);
      seen.add(rec[1]!);
    }
  }
  for (const m of spec.mounts) {
    const { flags, data } = mountFlags(m.options);
    if (m.type === "remount") {
      r.push(["mount", "", m.destination, "", String(flags | MS.remount), data]);
      continue;
    }
    r.push(m.mountpoint === "dir" ? ["mkdir", m.destination, "755"] : ["file", m.destination, "644"]);
    r.push(["mount", m.source, m.destination, m.type === "bind" ? "" : m.type, String(flags), data]);
    if (m.destination === "/dev") {
      for (const d of spec.linux.devices) r.push(["device", d.path, d.path, String(d.major), String(d.minor)]);
      for (const l of spec.linux.links) r.push(["symlink", l.target, l.path]);
    }
  }
  for (const path of spec.linux.maskedPaths) r.push(["mask", path]);
  for (const path of spec.linux.readonlyPaths) r.push(["readonly", path]);
  r.push(["hostname", spec.hostname]);
  if (spec.linux.namespaces.includes("network")) r.push(["loopback"]);
  const net = spec.box.network;
  if (net) {
    r.push(["bridge", net.bridge, net.gatewayCidr]);
    r.push(["veth", net.hostVeth, net.bridge, CONTAINER_INTERFACE]);
    r.push(["ip", CONTAINER_INTERFACE, net.addressCidr, net.gateway]);
  }
  for (const [path, value] of spec.box.sysctls) r.push(["sysctl", path, value]);
  for (const argv of spec.box.cleanupExec) r.push(["cleanup_exec", ...argv] as PlanRecord);
  if (spec.box.cleanupExec.length > 0) r.push(["cleanup_env", ...CLEANUP_ENV]);
  r.push(...usernsRecords(spec));
  r.push(...processRecords(spec.process, spec.linux.seccomp, spec.box.sessionKeyring, spec.box.userns?.single));
  for (const c of spec.box.cgroupProcs) r.push(["cgroup", c]);
  if (spec.box.cloneInto) r.push(["clone_into", spec.box.cloneInto]);
  if (spec.box.oom) r.push(["oom", spec.box.oom.file, spec.box.oom.killed, spec.box.oom.other]);
  for (const d of spec.box.cgroupDirs) r.push(["rmcgroup", d, String(CGROUP_REMOVAL.tries), String(CGROUP_REMOVAL.intervalMs)]);
  if (spec.box.pidFile) r.push(["pidfile", spec.box.pidFile, FILE_MODES.pidfile]);
  if (spec.box.exitFile) r.push(["exitfile", spec.box.exitFile, FILE_MODES.exitfile]);
  if (spec.box.detach) {
    r.push(["detach", spec.box.detach.id]);
    r.push(["log", spec.box.detach.log, String(spec.box.detach.logCap), FILE_MODES.log, spec.box.detach.logFormat ?? "raw"]);
  }
  if (spec.box.hold) r.push(["hold", spec.box.hold]);
  if (spec.box.traceFd !== undefined) r.push(["trace", String(spec.box.traceFd)]);
  for (const c of spec.box.cleanup) r.push(["cleanup", c]);
  return r;
}

/** Where a command without a '/' is looked up: the PATH of its environment, else the default one. */
export function searchPath(env: readonly string[]): string {
  const path = env.findLast((e) => e.startsWith("PATH="));
  return path !== undefined ? path.slice(5) : DEFAULT_PATH;
}

/** The command and what confines it: shared by a new container and by exec into a running one. */
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
  return r;
}

/**
 * exec into a running container: join the namespaces and root of its init (by its host pid and
 * start time: the helper pins it with a pidfd and refuses a process that merely reuses the pid)
 * and its cgroups, then run the process with the container's own confinement.
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
    ...cgroupProcs.map((c): PlanRecord => ["cgroup", c]),
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

export function encodePlan(records: readonly PlanRecord[]): Uint8Array {
  const parts: string[] = ["BOXPLAN", PLAN_VERSION];
  for (const [key, ...fields] of records) {
    for (const f of [key, ...fields]) {
      if (f.includes("\0")) throw new Error(`a plan field contains a NUL byte: ${JSON.stringify(f)}`);
    }
    parts.push(key, String(fields.length), ...fields);
  }
  const body = encodeBytes(parts.join("\0") + "\0");
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * UTF-8, except that lone surrogates U+DC80..U+DCFF stand for the raw bytes 0x80..0xFF (Python's
 * "surrogateescape"): that is how box carries argv and environment bytes that are not UTF-8 from
 * its own command line into the container's, unchanged (src/cli/bytes.ts).
 */
export function encodeBytes(text: string): Buffer {
  if (!/[\udc80-\udcff]/.test(text)) return Buffer.from(text);
  const chunks: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) {
      chunks.push(Buffer.from(text.slice(from, i)), Buffer.from([c - 0xdc00]));
      from = i + 1;
    }
  }
  chunks.push(Buffer.from(text.slice(from)));
  return Buffer.concat(chunks);
}
