/**
 * The container's devices. With a /dev of its own (a mount at /dev in config.json), a container gets
 * the runtime spec's default devices (null, zero, full, random, urandom, tty), bound from the host's
 * own nodes after their numbers are checked (helper/rootfs.c), the links /dev/fd, stdin, stdout,
 * stderr and ptmx, and the nodes of linux.devices, made with mknod inside its root. On cgroup v1 the
 * devices controller then allows exactly: the rules of linux.resources.devices in their order, after
 * a first "deny all", then the defaults (with /dev/pts/* and the console) and linux.devices.
 */
import type { PlanRecord } from "../spec/plan";
import type { OciConfig, OciDevice } from "./config";
import type { DeviceRule } from "./resources-config";
import { mkdirs } from "./mounts";

export const DEFAULT_DEVICES = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

export const DEFAULT_LINKS: Array<[target: string, path: string]> = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
];

/** Allowed to every container by the device controller: its default devices, its terminals, and
 * mknod of any node (opening one still needs a rule of its own). */
const DEFAULT_RULES: DeviceRule[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: "c" as const, major: d.major, minor: d.minor, access: "rwm" })),
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // /dev/console
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // /dev/ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // /dev/pts/*
];

function nodeType(d: OciDevice): "c" | "b" | "p" {
  return d.type === "u" ? "c" : d.type;
}

/** After the config's own mounts: the devices and links of a /dev the container got. */
export function deviceRecords(config: OciConfig, seen: Set<string>): PlanRecord[] {
  const ownDev = (config.mounts ?? []).some((m) => m.destination === "/dev");
  const listed = new Set((config.linux?.devices ?? []).map((d) => d.path));
  const r: PlanRecord[] = [];
  if (ownDev) {
    for (const d of DEFAULT_DEVICES) if (!listed.has(d.path)) r.push(["device", d.path, d.path, String(d.major), String(d.minor)]);
  }
  for (const d of config.linux?.devices ?? []) {
    const dir = d.path.slice(0, d.path.lastIndexOf("/")) || "/";
    r.push(...mkdirs(dir, seen));
    const mode = (d.fileMode ?? 0o666) & 0o7777;
    const t = nodeType(d);
    r.push(["mknod", d.path, t, String(t === "p" ? 0 : d.major), String(t === "p" ? 0 : d.minor), mode.toString(8), String(d.uid ?? 0), String(d.gid ?? 0)]);
  }
  if (ownDev) {
    // A link whose place linux.devices takes (podman --privileged lists /dev/ptmx) is not made.
    for (const [target, path] of DEFAULT_LINKS) if (!listed.has(path)) r.push(["symlink", target, path]);
    if ((config.mounts ?? []).some((m) => m.destination === "/dev/pts") && !listed.has("/dev/ptmx")) r.push(["symlink", "pts/ptmx", "/dev/ptmx"]);
  }
  return r;
}

/** The device controller's rules, in the order they are written (v1). */
export function deviceRules(config: OciConfig): DeviceRule[] {
  const fromDevices: DeviceRule[] = (config.linux?.devices ?? [])
    .filter((d) => d.type !== "p")
    .map((d) => ({ allow: true, type: nodeType(d) as "c" | "b", major: d.major, minor: d.minor, access: "rwm" }));
  return [{ allow: false, type: "a", access: "rwm" }, ...(config.linux?.resources?.devices ?? []), ...DEFAULT_RULES, ...fromDevices];
}

/** One rule as the v1 devices.allow / devices.deny files take it: "c 1:3 rwm", "a". */
export function ruleText(rule: DeviceRule): string {
  const type = rule.type ?? "a";
  if (type === "a") return "a";
  const n = (v?: number) => (v === undefined || v < 0 ? "*" : String(v));
  return `${type} ${n(rule.major)}:${n(rule.minor)} ${rule.access || "rwm"}`;
}
