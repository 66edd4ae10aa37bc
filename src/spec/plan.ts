import { capabilityMask } from "./capabilities";
import type { Spec } from "./types";

/**
 * The plan: the spec translated into the flat step list the helper executes (helper/plan.c reads it).
 *
 *   u32 little-endian body length, then the body:
 *   "BOXPLAN" NUL "1" NUL, then records: key NUL count NUL field NUL ... (count fields)
 *
 * All decisions are already made here: mount flags are numbers, modes are octal strings, the order
 * of records is the order of the steps.
 */
export const PLAN_VERSION = "1";

export type PlanRecord = [key: string, ...fields: string[]];

// Mount flags from <sys/mount.h>.
const MS = {
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
    r.push(["hmount", "overlay", root.merged, "overlay", String(MS.nodev), `lowerdir=${root.lower},upperdir=${root.upper},workdir=${root.work}`]);
  } else {
    r.push(["hmount", root.path, root.path, "", String(MS.bind | MS.rec), ""]);
    r.push(["hmount", "", root.path, "", String(MS.bind | MS.remount | MS.nodev), ""]);
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
    r.push(["veth", net.hostVeth, net.bridge]);
    r.push(["ip", net.addressCidr, net.gateway]);
  }
  for (const [path, value] of spec.box.sysctls) r.push(["sysctl", path, value]);
  for (const argv of spec.box.cleanupExec) r.push(["cleanup_exec", ...argv] as PlanRecord);
  r.push(...processRecords(spec.process, spec.linux.seccomp, spec.box.sessionKeyring));
  for (const c of spec.box.cgroupProcs) r.push(["cgroup", c]);
  if (spec.box.cloneInto) r.push(["clone_into", spec.box.cloneInto]);
  if (spec.box.oom) r.push(["oom", spec.box.oom.file, spec.box.oom.killed, spec.box.oom.other]);
  for (const d of spec.box.cgroupDirs) r.push(["rmcgroup", d]);
  if (spec.box.pidFile) r.push(["pidfile", spec.box.pidFile]);
  if (spec.box.exitFile) r.push(["exitfile", spec.box.exitFile]);
  if (spec.box.detach) {
    r.push(["detach", spec.box.detach.id]);
    r.push(["log", spec.box.detach.log, String(spec.box.detach.logCap)]);
  }
  for (const c of spec.box.cleanup) r.push(["cleanup", c]);
  return r;
}

/** The command and what confines it: shared by a new container and by exec into a running one. */
export function processRecords(proc: Spec["process"], seccomp: string | undefined, sessionKeyring: boolean): PlanRecord[] {
  const r: PlanRecord[] = [];
  r.push(["argv", ...proc.args]);
  r.push(["env", ...proc.env]);
  r.push(["cwd", proc.cwd]);
  const u = proc.user;
  r.push(["user", String(u.uid), String(u.gid), ...u.additionalGids.map(String)]);
  const c = proc.capabilities;
  r.push(["caps", ...[c.bounding, c.effective, c.permitted, c.inheritable, c.ambient].map(capabilityMask)]);
  if (proc.noNewPrivileges) r.push(["nonewprivs"]);
  if (seccomp !== undefined) r.push(["seccomp", seccomp]);
  if (sessionKeyring) r.push(["keyring"]);
  r.push(["tty", proc.terminal ? "1" : "0"]);
  r.push(["stdin", proc.stdin ? "1" : "0"]);
  return r;
}

/**
 * exec into a running container: join the namespaces and root of its init (by its host pid) and
 * its cgroups, then run the process with the container's own confinement.
 */
export function execRecords(spec: Spec, proc: Spec["process"], init: number, cgroupProcs: readonly string[]): PlanRecord[] {
  return [
    ["join", String(init)],
    ...processRecords(proc, spec.linux.seccomp, spec.box.sessionKeyring),
    ...cgroupProcs.map((c): PlanRecord => ["cgroup", c]),
  ];
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
