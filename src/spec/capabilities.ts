import { BoxError } from "../errors";

/** Linux capabilities by name (without CAP_), numbered as in <linux/capability.h>. */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7,
  SETPCAP: 8, LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13,
  IPC_LOCK: 14, IPC_OWNER: 15, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_CHROOT: 18, SYS_PTRACE: 19, SYS_PACCT: 20,
  SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23, SYS_RESOURCE: 24, SYS_TIME: 25, SYS_TTY_CONFIG: 26, MKNOD: 27,
  LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31, MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34,
  WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
};

/** Docker's default set: what a container's root keeps. */
export const DEFAULT_CAPABILITIES = [
  "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
  "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
] as const;

/** "cap_sys_admin", "CAP_SYS_ADMIN" and "sys_admin" all name SYS_ADMIN; ALL names every capability. */
export function capabilityName(word: string): string {
  const name = word.toUpperCase().replace(/^CAP_/, "");
  if (name !== "ALL" && !(name in CAPABILITIES)) throw new BoxError(`unknown capability "${word}"`);
  return name;
}

/**
 * The capability set of a container, as docker computes it: the default set, minus --cap-drop, plus
 * --cap-add (ALL in either means every capability), or every capability with --privileged. "Every"
 * is every one box itself holds (`available`): a container cannot get what its runtime lacks, and
 * asking for such a capability by name is an error.
 */
export function resolveCapabilities(
  add: readonly string[],
  drop: readonly string[],
  privileged: boolean,
  available: readonly string[] = Object.keys(CAPABILITIES),
): string[] {
  const all = Object.keys(CAPABILITIES).filter((c) => available.includes(c));
  if (privileged) return all;
  const adds = add.map(capabilityName);
  const drops = drop.map(capabilityName);
  for (const a of adds) {
    if (a !== "ALL" && !available.includes(a)) throw new BoxError(`capability ${a} is not available: box itself does not hold it on this host`);
  }
  let set = new Set<string>(DEFAULT_CAPABILITIES.filter((c) => available.includes(c)));
  if (drops.includes("ALL")) set = new Set();
  for (const d of drops) set.delete(d);
  if (adds.includes("ALL")) set = new Set(all);
  for (const a of adds) if (a !== "ALL") set.add(a);
  return all.filter((c) => set.has(c));
}

/** The capabilities in a mask like /proc/self/status's CapBnd line. */
export function capabilitiesIn(maskHex: string): string[] {
  const mask = BigInt("0x" + maskHex);
  return Object.entries(CAPABILITIES).filter(([, n]) => (mask >> BigInt(n)) & 1n).map(([name]) => name);
}

/** A set of capabilities as the 64-bit mask the kernel uses, in hex. */
export function capabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(CAPABILITIES[n]!);
  return mask.toString(16).padStart(16, "0");
}
