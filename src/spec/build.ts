import type { IdMapping } from "../userns/ids";
import { filterFor } from "./seccomp/default";
import type { Device, IdMap, Mount, RootAssembly, Spec } from "./types";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessInput {
  args: string[];
  /** KEY=VALUE entries from -e, in order; later ones win. */
  env: string[];
  cwd?: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  home: string;
  hostname: string;
  tty: boolean;
  stdin: boolean;
}

/** What confines the container beyond its namespaces. */
export interface SecurityInput {
  /** Capability names (without CAP_) the container keeps. */
  capabilities: string[];
  noNewPrivileges: boolean;
  seccomp: boolean;
  /** Mask and write-protect the kernel's sensitive paths in /proc and /sys. */
  systemPaths: boolean;
  /** --privileged: /sys is writable too. */
  privileged: boolean;
}

export const MASKED_PATHS = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/proc/interrupts", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The container's cgroup as made on the host (src/cgroup/setup.ts). */
export interface CgroupInput {
  procs: string[];
  cloneInto?: string;
  dirs: string[];
  mounts: Mount[];
  oom?: { file: string; killed: string; other: string };
}

export interface SpecInput {
  process: ProcessInput;
  security: SecurityInput;
  /** none: a network namespace with loopback only; host: the host's network stack, shared;
   * bridge: a namespace with loopback and eth0 on box's bridge; pasta, slirp4netns: a namespace
   * whose tap interface the tool (spec.box.netTool) makes. */
  network: "none" | "host" | "bridge" | "pasta" | "slirp4netns";
  bridge?: NonNullable<Spec["box"]["network"]>;
  cgroup?: CgroupInput;
  rootfs: RootAssembly;
  /** Host files bound over the container's /etc/hostname, /etc/hosts and /etc/resolv.conf. */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  cleanup: string[];
  /** The container's own mounts (-v, --mount, --tmpfs, the image's VOLUMEs), after box's. */
  userMounts?: Mount[];
  /** --read-only: the root is remounted read-only once everything is mounted. */
  readOnlyRoot?: boolean;
  /** --shm-size, in bytes (default 64 MiB). */
  shmSize?: number;
  pidFile?: string;
  exitFile?: string;
  detach?: { id: string; log: string; logCap: number; logFormat?: "raw" | "k8s-file" };
  hold?: string;
  traceFd?: number;
  sysctls?: Array<[string, string]>;
  cleanupExec?: string[][];
  /** Namespaces shared with the host (--pid/--ipc/--uts host): left out of the spec. */
  hostNamespaces?: Array<"pid" | "ipc" | "uts">;
  /** Host character devices (--device), bound after the default ones. */
  devices?: Device[];
  rlimits?: Array<{ type: string; soft: number; hard: number }>;
  /** Namespaced sysctls written inside the container. */
  containerSysctls?: Record<string, string>;
  restart?: Spec["box"]["restart"];
  stoppedFile?: string;
  attachSocket?: string;
  attached?: Spec["box"]["attached"];
  /** A user namespace of the container's own (rootless, or --userns=auto): its ids, and the rest
   * of spec.box.userns (who mounts the root, the clean-up). */
  userns?: { mapping: Pick<IdMapping, "uid" | "gid" | "tools" | "single"> } & Omit<NonNullable<Spec["box"]["userns"]>, "tools" | "single">;
  /** A time namespace of the container's own (where the kernel has them): its clocks the host's
   * (private) or counting from its start. */
  time?: "private" | "from-start";
  netTool?: Spec["box"]["netTool"];
}

/** The container's environment: box's defaults, then -e entries (a later KEY replaces an earlier one). */
export function containerEnv(p: ProcessInput): string[] {
  const env = new Map<string, string>();
  env.set("PATH", DEFAULT_PATH);
  env.set("HOSTNAME", p.hostname);
  env.set("HOME", p.home);
  if (p.tty) env.set("TERM", "xterm");
  for (const entry of p.env) {
    const eq = entry.indexOf("=");
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

const DEVICES: Device[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5 },
  { path: "/dev/full", type: "c", major: 1, minor: 7 },
  { path: "/dev/random", type: "c", major: 1, minor: 8 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0 },
];

const DEV_LINKS = [
  { target: "/proc/self/fd", path: "/dev/fd" },
  { target: "/proc/self/fd/0", path: "/dev/stdin" },
  { target: "/proc/self/fd/1", path: "/dev/stdout" },
  { target: "/proc/self/fd/2", path: "/dev/stderr" },
  { target: "pts/ptmx", path: "/dev/ptmx" },
];

/** The container's mounts, in the order they are made. /dev is a fresh tmpfs, nodev like every
 * writable mount, so a device node the container creates cannot be opened: the devices it may use
 * are bound from the host after the /dev mount. /sys is read-only unless privileged; the /etc files
 * are the container's own, not the image's. */
function mounts(etc: SpecInput["etcFiles"], privileged: boolean, shmSize = 64 << 20, userns?: { single: boolean; hostNet: boolean }): Mount[] {
  const ro = privileged ? [] : ["ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"], mountpoint: "dir" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "strictatime", "mode=755", "size=65536k"], mountpoint: "dir" },
    // In a namespace of the user's id alone there is no group 5 (tty) to give the terminals.
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(userns?.single ? [] : ["gid=5"])], mountpoint: "dir" },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize % 1024 === 0 ? `${shmSize / 1024}k` : shmSize}`], mountpoint: "dir" },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"], mountpoint: "dir" },
    // A user namespace may mount sysfs only for a network namespace it owns: with the host's
    // network, the host's /sys is bound instead (read-only all the same).
    userns?.hostNet
      ? { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev"], mountpoint: "dir" }
      : { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", ...ro], mountpoint: "dir" },
    ...(userns?.hostNet && !privileged ? [{ destination: "/sys", type: "remount", source: "", options: ["bind", "ro", "nosuid", "noexec", "nodev"], mountpoint: "dir" as const }] : []),
    { destination: "/etc/hostname", type: "bind", source: etc.hostname, options: ["bind"], mountpoint: "file" },
    { destination: "/etc/hosts", type: "bind", source: etc.hosts, options: ["bind"], mountpoint: "file" },
    { destination: "/etc/resolv.conf", type: "bind", source: etc.resolvConf, options: ["bind"], mountpoint: "file" },
  ];
}

/** /sys/fs/cgroup goes over /sys, so right after it. */
function withCgroupMounts(base: Mount[], cgroup: Mount[]): Mount[] {
  const at = base.findIndex((m) => m.destination === "/sys") + 1;
  return [...base.slice(0, at), ...cgroup, ...base.slice(at)];
}

/**
 * box's mounts, then the container's own, shallowest first (a mount of the container's at the
 * place of one of box's replaces it: /dev/shm, the /etc files); with --read-only, the root made
 * read-only last, after every directory and file the mounts needed was made.
 */
function containerMounts(input: SpecInput, boxs: Mount[]): Mount[] {
  const user = input.userMounts ?? [];
  const root: Mount[] = input.readOnlyRoot ? [{ destination: "/", type: "remount", source: "", options: ["bind", "ro", "nodev"], mountpoint: "dir" }] : [];
  return [...boxs.filter((m) => !user.some((u) => u.destination === m.destination)), ...user, ...root];
}

export function buildSpec(input: SpecInput): Spec {
  const p = input.process;
  const sec = input.security;
  const cwd = p.cwd ?? "/";
  const caps = sec.capabilities;
  const shared = new Set(input.hostNamespaces ?? []);
  const own = (["mount", "uts", "ipc", "network", "pid", "cgroup"] as const).filter(
    (ns) => !(ns === "network" && input.network === "host") && !(ns !== "mount" && ns !== "network" && ns !== "cgroup" && shared.has(ns)),
  );
  const userns = input.userns;
  const idMaps = (ranges: IdMapping["uid"]): IdMap[] => ranges.map((r) => ({ containerID: r.inside, hostID: r.outside, size: r.count }));
  // --ipc host: the host's /dev/shm goes with its IPC namespace, as in docker.
  const base = mounts(input.etcFiles, sec.privileged, input.shmSize, userns && { single: userns.mapping.single, hostNet: input.network === "host" }).map((m): Mount =>
    m.destination === "/dev/shm" && shared.has("ipc") ? { destination: "/dev/shm", type: "bind", source: "/dev/shm", options: ["bind"], mountpoint: "dir" } : m,
  );
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: p.tty,
      stdin: p.stdin,
      user: p.user,
      args: p.args,
      env: containerEnv(p),
      cwd,
      // As docker: bounding, effective and permitted sets alike; nothing inheritable or ambient. A
      // non-root user loses the effective and permitted ones at exec, as on any Linux system.
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: sec.noNewPrivileges,
      ...(input.rlimits && input.rlimits.length > 0 ? { rlimits: input.rlimits } : {}),
    },
    root: { path: input.rootfs.kind === "overlay" ? input.rootfs.merged : input.rootfs.path },
    hostname: p.hostname,
    mounts: containerMounts(input, withCgroupMounts(base, input.cgroup?.mounts ?? [])),
    linux: {
      namespaces: [...own, ...(userns ? (["user"] as const) : []), ...(input.time ? (["time"] as const) : [])],
      devices: [...DEVICES, ...(input.devices ?? [])],
      links: DEV_LINKS,
      rootfsPropagation: "private",
      seccomp: sec.seccomp ? filterFor(caps) : undefined,
      maskedPaths: sec.systemPaths ? MASKED_PATHS : [],
      readonlyPaths: sec.systemPaths ? READONLY_PATHS : [],
      ...(input.containerSysctls && Object.keys(input.containerSysctls).length > 0 ? { sysctl: input.containerSysctls } : {}),
      ...(userns ? { uidMappings: idMaps(userns.mapping.uid), gidMappings: idMaps(userns.mapping.gid) } : {}),
    },
    box: {
      rootfs: input.rootfs,
      // The working directory is created when missing, as docker does.
      dirs: ["/proc", "/dev", "/sys", "/etc", ...(cwd !== "/" ? [cwd] : [])],
      cgroupProcs: input.cgroup?.procs ?? [],
      cloneInto: input.cgroup?.cloneInto,
      cgroupDirs: input.cgroup?.dirs ?? [],
      oom: input.cgroup?.oom,
      cleanup: input.cleanup,
      sessionKeyring: true,
      network: input.network === "bridge" ? input.bridge : undefined,
      sysctls: input.sysctls ?? [],
      cleanupExec: input.cleanupExec ?? [],
      pidFile: input.pidFile,
      exitFile: input.exitFile,
      detach: input.detach,
      hold: input.hold,
      traceFd: input.traceFd,
      ...(input.restart && input.restart.name !== "no" ? { restart: input.restart } : {}),
      ...(input.stoppedFile ? { stoppedFile: input.stoppedFile } : {}),
      ...(input.attachSocket ? { attachSocket: input.attachSocket } : {}),
      ...(input.attached ? { attached: input.attached } : {}),
      ...(userns ? { userns: usernsBox(userns) } : {}),
      ...(input.time === "from-start" ? { clocks: "from-start" as const } : {}),
      ...(input.netTool ? { netTool: input.netTool } : {}),
    },
  };
}

function usernsBox(u: NonNullable<SpecInput["userns"]>): NonNullable<Spec["box"]["userns"]> {
  const { mapping, ...rest } = u;
  return { ...(mapping.tools ? { tools: mapping.tools } : {}), single: mapping.single, ...rest };
}
