/**
 * Checks of docker's container flags that take a small language of their own: --env-file,
 * --add-host, --dns, --ulimit, --sysctl, --device, --restart, --label, --pid/--ipc/--uts. Each
 * returns what the RunRequest stores, or throws one sentence naming the flag and what to give.
 */
import { BoxError } from "../errors";
import type { NetworkMode } from "../net/setup";
import type { DeviceRequest, RestartPolicy, Ulimit } from "../spec/request";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+(%\w+)?$/;

export function isIp(text: string): boolean {
  return IPV4.test(text) || (text.includes(":") && IPV6.test(text));
}

/** --env-file: KEY=VALUE lines as docker reads them (no quoting; # comments and blank lines skipped; KEY alone copies it). */
export function parseEnvFile(path: string, text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "" || /\s/.test(key)) throw new BoxError(`invalid --env-file ${path}: line ${i + 1} is not KEY=VALUE`);
    out.push(eq < 0 ? key : line);
  });
  return out;
}

/** --add-host NAME:IP (or NAME=IP); IP may be host-gateway (the bridge's address). */
export function parseAddHost(text: string): { host: string; ip: string } {
  const sep = text.includes("=") ? text.indexOf("=") : text.indexOf(":");
  const host = text.slice(0, sep), ip = text.slice(sep + 1).replace(/^\[(.*)\]$/, "$1");
  if (sep <= 0 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) || (ip !== "host-gateway" && !isIp(ip))) {
    throw new BoxError(`invalid --add-host "${text.slice(0, 64)}": use NAME:IP (or NAME:host-gateway)`);
  }
  return { host, ip };
}

export function parseDns(text: string): string {
  if (!isIp(text)) throw new BoxError(`invalid --dns "${text.slice(0, 64)}": give the IP address of a name server`);
  return text;
}

/** The limits setrlimit knows, by docker's names. */
export const RLIMITS = ["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

/** --ulimit NAME=SOFT[:HARD]; -1 (or unlimited) is no limit. */
export function parseUlimit(text: string): Ulimit {
  const m = /^([a-z]+)=(-1|\d{1,19}|unlimited)(?::(-1|\d{1,19}|unlimited))?$/.exec(text);
  const bad = (why: string) => new BoxError(`invalid --ulimit "${text.slice(0, 64)}": ${why}`);
  if (!m) throw bad("use NAME=SOFT[:HARD], like nofile=1024:2048");
  if (!RLIMITS.includes(m[1]!)) throw bad(`unknown limit ${m[1]} (use ${RLIMITS.join(", ")})`);
  const value = (v: string) => (v === "unlimited" || v === "-1" ? -1 : Number(v));
  const soft = value(m[2]!), hard = value(m[3] ?? m[2]!);
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) throw bad("the value is too large");
  if (hard !== -1 && (soft === -1 || soft > hard)) throw bad("the soft limit is above the hard one");
  return { name: m[1]!, soft, hard };
}

/** The sysctls a container may set: the ones the kernel keeps per namespace (as docker allows). */
const IPC_SYSCTLS = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];

export function parseSysctl(text: string, network: NetworkMode, hostIpc: boolean): [string, string] {
  const eq = text.indexOf("=");
  const key = text.slice(0, eq), value = text.slice(eq + 1);
  if (eq <= 0 || !/^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/.test(key) || /[\n\0]/.test(value)) throw new BoxError(`invalid --sysctl "${text.slice(0, 64)}": use NAME=VALUE, like net.ipv4.ip_unprivileged_port_start=0`);
  const ipc = IPC_SYSCTLS.includes(key) || key.startsWith("fs.mqueue.");
  if (ipc && hostIpc) throw new BoxError(`--sysctl ${key} needs the container's own IPC namespace: it cannot go with --ipc host`);
  if (key.startsWith("net.") && network === "host") throw new BoxError(`--sysctl ${key} needs the container's own network: it cannot go with --network host`);
  if (!ipc && !key.startsWith("net.")) throw new BoxError(`--sysctl ${key} is not allowed: only namespaced ones are (net.*, fs.mqueue.*, ${IPC_SYSCTLS.join(", ")})`);
  return [key, value];
}

/** --device HOST[:CONTAINER[:PERMISSIONS]]: only a character device, only directly in /dev. */
export function parseDevice(text: string, stat: (path: string) => { isChar: boolean; isBlock: boolean; rdev: number } | undefined): DeviceRequest {
  const parts = text.split(":");
  // HOST:PERMISSIONS is docker's too (/dev/fuse:rw).
  if (parts.length === 2 && /^[rwm]+$/.test(parts[1]!)) parts.splice(1, 0, "");
  const [host = "", given = "", permissions = "rwm", ...more] = parts;
  const container = given || host;
  const bad = (why: string) => new BoxError(`invalid --device "${text.slice(0, 64)}": ${why}`);
  if (more.length > 0 || !host.startsWith("/")) throw bad("use HOST-PATH[:CONTAINER-PATH[:rwm]]");
  if (!/^\/dev\/[^/]+$/.test(container) || container === "/dev/." || container === "/dev/..") throw bad("the path in the container must be directly in /dev, like /dev/fuse");
  if (!/^[rwm]{1,3}$/.test(permissions) || !permissions.includes("r") || !permissions.includes("w")) throw bad("box binds a device for reading and writing: give rw or rwm");
  const st = stat(host);
  if (!st) throw bad(`${host} does not exist`);
  if (st.isBlock) throw bad(`${host} is a block device: box mounts every writable filesystem nodev, so the container could not open it`);
  if (!st.isChar) throw bad(`${host} is not a character device`);
  // Linux's encoding of dev_t (glibc's gnu_dev_major/minor).
  const rdev = BigInt(st.rdev);
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { host, container, major, minor, permissions };
}

/** --restart no|on-failure[:N]|always|unless-stopped */
export function parseRestart(text: string): RestartPolicy {
  const m = /^(no|always|unless-stopped|on-failure)(?::(\d{1,9}))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure")) {
    throw new BoxError(`invalid --restart "${text.slice(0, 64)}": use no, on-failure[:MAX-RETRIES], always or unless-stopped`);
  }
  return { name: m[1] as RestartPolicy["name"], maximumRetryCount: Number(m[2] ?? 0) };
}

/** --label KEY[=VALUE] (a key alone has an empty value, as in docker). */
export function parseLabels(given: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of given) {
    const eq = l.indexOf("=");
    const key = eq < 0 ? l : l.slice(0, eq);
    if (key === "" || /[\s\0]/.test(key)) throw new BoxError(`invalid --label "${l.slice(0, 64)}": use KEY=VALUE`);
    labels[key] = eq < 0 ? "" : l.slice(eq + 1);
  }
  return labels;
}

/** --pid, --ipc, --uts: host shares the host's namespace; the container's own is the default. */
export function parseNamespaceMode(flag: "pid" | "ipc" | "uts", value: string | undefined): boolean {
  if (value === undefined || value === "" || (flag === "ipc" && (value === "private" || value === "shareable"))) return false;
  if (value === "host") return true;
  throw new BoxError(`invalid --${flag} "${value.slice(0, 64)}": box knows host (or the container's own, the default)`);
}
