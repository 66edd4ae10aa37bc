import { BoxError } from "../errors";
import { cgroupRecords, processRecords } from "./process-plan";
import { usernsRecords } from "./plan-userns";
import type { Spec } from "./types";

export { cgroupRecords, COMMAND_UMASK, execRecords, processRecords, RLIMITS, rlimitRecord, searchPath } from "./process-plan";
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
/** docker's restart back-off: the first delay, doubled each time up to the cap; a run this long resets it. */
export const RESTART_BACKOFF = { firstMs: 100, capMs: 60_000, resetMs: 10_000 };

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
    if (root.lowers.length > MAX_LAYERS) throw new BoxError(`the image has ${root.lowers.length} layers: overlayfs stacks at most ${MAX_LAYERS}`);
    // fuse-overlayfs's root is the mounter's (spec.box.userns.fuse); rootless, the kernel's keeps
    // its whiteouts and opaque marks in user.* attributes (userxattr).
    if (!root.fuse) r.push(["overlay", String(MS.nodev), root.merged, root.upper, root.work, ...root.lowers]);
    if (!root.fuse && root.userxattr) r.push(["overlay_userxattr"]);
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
    if (m.parents) r.push(...mkdirs(m.destination.slice(0, m.destination.lastIndexOf("/"))));
    r.push(m.mountpoint === "dir" ? ["mkdir", m.destination, "755"] : ["file", m.destination, "644"]);
    r.push(["mount", m.source, m.destination, m.type === "bind" ? "" : m.type, String(flags), data]);
    if (m.destination === "/dev") {
      for (const d of spec.linux.devices) r.push(["device", d.path, d.path, String(d.major), String(d.minor)]);
      for (const l of spec.linux.links) r.push(["symlink", l.target, l.path]);
    }
  }
  for (const path of spec.linux.maskedPaths) r.push(["mask", path]);
  // The container's sysctls: once /proc is there, before /proc/sys is read-only and before eth0 is up.
  for (const [name, value] of Object.entries(spec.linux.sysctl ?? {})) r.push(["sysctl_in", sysctlPath(name), value]);
  for (const path of spec.linux.readonlyPaths) r.push(["readonly", path]);
  r.push(["hostname", spec.hostname]);
  if (spec.linux.namespaces.includes("network")) r.push(["loopback"]);
  const net = spec.box.network;
  if (net) {
    r.push(["bridge", net.bridge, net.gatewayCidr, ...(net.bridgeMac ? [net.bridgeMac] : [])]);
    r.push(["veth", net.hostVeth, net.bridge, CONTAINER_INTERFACE, ...(net.mac ? [net.mac] : [])]);
    r.push(["ip", CONTAINER_INTERFACE, net.addressCidr, net.gateway]);
  }
  for (const [path, value] of spec.box.sysctls) r.push(["sysctl", path, value]);
  for (const argv of spec.box.cleanupExec) r.push(["cleanup_exec", ...argv] as PlanRecord);
  if (spec.box.cleanupExec.length > 0) r.push(["cleanup_env", ...CLEANUP_ENV]);
  r.push(...usernsRecords(spec));
  r.push(...processRecords(spec.process, spec.linux.seccomp, spec.box.sessionKeyring, spec.box.userns?.single));
  r.push(...cgroupRecords(spec, spec.box.cgroupProcs));
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
  const restart = spec.box.restart;
  if (restart && restart.name !== "no") {
    if (!spec.box.detach) throw new BoxError(`--restart ${restart.name} needs a container that runs on without box (-d)`);
    const { firstMs, capMs, resetMs } = RESTART_BACKOFF;
    r.push(["restart", restart.name, String(restart.maximumRetryCount), String(firstMs), String(capMs), String(resetMs), ...(spec.box.stoppedFile ? [spec.box.stoppedFile] : [])]);
  }
  if (spec.box.attachSocket) r.push(["console", spec.box.attachSocket]);
  if (spec.box.attached) r.push(["attached", keysHex(spec.box.attached.detachKeys)]);
  if (spec.box.traceFd !== undefined) r.push(["trace", String(spec.box.traceFd)]);
  for (const c of spec.box.cleanup) r.push(["cleanup", c]);
  return r;
}

/** Detach keys as the plan carries them: their bytes in hex. */
function keysHex(keys: readonly number[]): string {
  return Buffer.from(keys).toString("hex");
}

/**
 * box attach: a client of a running container's console (helper/attach.c), relaying box's
 * terminal until the command ends (its status becomes box's) or the detach keys are typed.
 */
export function attachRecords(socket: string, opts: { detachKeys: readonly number[]; stdin: boolean; sigProxy: boolean }): PlanRecord[] {
  return [["attach", socket, keysHex(opts.detachKeys), opts.stdin ? "1" : "0", opts.sigProxy ? "1" : "0"]];
}

/** overlayfs stacks at most this many lower layers (OVL_MAX_STACK). */
export const MAX_LAYERS = 500;

/** A sysctl's file under /proc/sys: docker's dotted name with '/' for '.', or a name given with '/'. */
export function sysctlPath(name: string): string {
  return name.includes("/") ? name.replace(/^\/+/, "") : name.replaceAll(".", "/");
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
