/**
 * What a user asked a container to be (docker's run/create flags, validated): everything needed to
 * start it, and to start it again later (`box start` of a stopped container). Stored in the
 * container's record; the spec is built from it each time the container starts.
 */
import type { Limits } from "../cgroup/limits";
import type { PullPolicy } from "../image/run";
import type { Publish } from "../net/ports";
import type { NetworkMode } from "../net/setup";
import { arr, bool, dict, int, num, obj, oneOf, opt, pattern, str, type Check } from "../validate";
import type { SecurityInput } from "./build";
import type { BindRequest, MountRequest, TmpfsRequest, VolumeRequest } from "./mounts";

/** --restart: docker's policies; maximumRetryCount counts for on-failure only (0: no limit). */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  maximumRetryCount: number;
}

/** --ulimit NAME=SOFT[:HARD]: a resource limit (RLIMIT_<NAME>) of the command; -1 is unlimited. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** --device HOST[:CONTAINER[:PERMISSIONS]]: a host character device, checked by its numbers. */
export interface DeviceRequest {
  host: string;
  container: string;
  major: number;
  minor: number;
  permissions: string;
}



/** The root: an image as named on the line (the default image when none was), or a directory used
 * in place. orCommandIn: the word was not a command of that image either (said if a pull fails). */
export type ImageSource = { kind: "image"; word: string; orCommandIn?: string } | { kind: "directory"; path: string };

export interface RunRequest {
  image: ImageSource;
  /** --pull: missing (default), always, never. */
  pull: PullPolicy;
  /** --entrypoint: replaces the image's ("" for none). */
  entrypoint?: string;
  /** The command given on the line (empty: the image's default). */
  command: string[];
  name?: string;
  hostname?: string;
  /** -e entries, KEY=VALUE, in order. */
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  /** Removed when it ends: --rm, or a foreground run without --name. */
  autoRemove: boolean;
  network: NetworkMode;
  publish: Publish[];
  security: SecurityInput;
  limits: Limits;
  cgroupParent: string;
  /** A detached container's log is rotated past this many bytes (default LOG_CAP). */
  logMaxSize?: number;
  /** The options below came with box 0.3; records of older boxes lack them. */
  labels?: Record<string, string>;
  stopSignal?: string;
  /** Seconds box stop waits before SIGKILL (--stop-timeout); undefined: 10. */
  stopTimeout?: number;
  restart?: RestartPolicy;
  ulimits?: Ulimit[];
  /** Namespaced sysctls written inside the container (net.*, kernel.shm*, ...), by dotted name. */
  sysctls?: Record<string, string>;
  devices?: DeviceRequest[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --add-host NAME:IP lines for /etc/hosts (IP may be host-gateway). */
  extraHosts?: Array<{ host: string; ip: string }>;
  /** Namespaces shared with the host instead of made (--pid/--ipc/--uts host). */
  hostNamespaces?: Array<"pid" | "ipc" | "uts">;
  /** -P: publish every port the image exposes, on a free host port each. */
  publishAll?: boolean;
  /** --init was given (box always runs its init: this only shows in inspect). */
  init?: boolean;
  cidfile?: string;
  /** -v, --mount, --tmpfs, in the order given (absent in records of box before 0.3). */
  mounts?: MountRequest[];
  /** --read-only: the root filesystem is mounted read-only. */
  readOnly?: boolean;
  /** --shm-size: bytes of /dev/shm (default 64 MiB). */
  shmSize?: number;
  /** --userns=auto (root): ids of the container's own (src/userns/auto.ts). */
  userns?: "auto";
  /** --time-ns: a time namespace (private, the default where the kernel has one), its clocks from
   * the container's start, or the host's (none). */
  timeNs?: "private" | "from-start" | "host";
}

const checkImage: Check<ImageSource> = (v, at) => {
  const kind = oneOf("image", "directory")((v as { kind?: unknown } | null)?.kind, `${at}.kind`);
  return kind === "image"
    ? obj<{ kind: "image"; word: string; orCommandIn?: string }>({ kind: oneOf("image"), word: str, orCommandIn: opt(str) })(v, at)
    : obj<{ kind: "directory"; path: string }>({ kind: oneOf("directory"), path: pattern(/^\//, "an absolute path") })(v, at);
};

const absolute = pattern(/^\/[^\0]*$/, "an absolute path");

const checkMount: Check<MountRequest> = (v, at) => {
  const type = oneOf("bind", "volume", "tmpfs")((v as { type?: unknown } | null)?.type, `${at}.type`);
  if (type === "bind") return obj<BindRequest>({ type: oneOf("bind"), source: absolute, target: absolute, readonly: bool, recursive: bool, create: bool, mode: str })(v, at);
  if (type === "volume") {
    return obj<VolumeRequest>({ type: oneOf("volume"), name: opt(pattern(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "a volume name")), target: absolute, readonly: bool, noCopy: bool, labels: opt(dict(str)), mode: str })(v, at);
  }
  return obj<TmpfsRequest>({ type: oneOf("tmpfs"), target: absolute, options: arr(pattern(/^[a-z_]+(=[0-9A-Za-z_%]+)?$/, "a tmpfs option")) })(v, at);
};


export const checkRequest: Check<RunRequest> = obj<RunRequest>({
  image: checkImage,
  pull: oneOf("missing", "always", "never"),
  entrypoint: opt(str),
  command: arr(str),
  name: opt(str),
  hostname: opt(str),
  env: arr(str),
  workdir: opt(str),
  user: opt(str),
  interactive: bool,
  tty: bool,
  detach: bool,
  autoRemove: bool,
  network: oneOf("none", "host", "bridge", "pasta", "slirp4netns"),
  publish: arr(obj<Publish>({ hostIp: opt(str), hostPort: int, containerPort: int, proto: oneOf("tcp", "udp") })),
  security: obj<SecurityInput>({ capabilities: arr(str), noNewPrivileges: bool, seccomp: bool, systemPaths: bool, privileged: bool }),
  limits: obj<Limits>({ pids: int, memory: opt(int), memorySwap: opt(int), cpus: opt(num), cpuShares: opt(int), cpuWeight: opt(int) }),
  cgroupParent: str,
  logMaxSize: opt(int),
  labels: opt(dict(str)),
  stopSignal: opt(pattern(/^SIG[A-Z0-9+-]+$/, "a signal name")),
  stopTimeout: opt(int),
  restart: opt(obj<RestartPolicy>({ name: oneOf("no", "on-failure", "always", "unless-stopped"), maximumRetryCount: int })),
  ulimits: opt(arr(obj<Ulimit>({ name: pattern(/^[a-z]+$/, "a limit name"), soft: int, hard: int }))),
  sysctls: opt(dict(str)),
  devices: opt(arr(obj<DeviceRequest>({ host: pattern(/^\//, "an absolute path"), container: pattern(/^\/dev\/[^/]+$/, "a path in /dev"), major: int, minor: int, permissions: str }))),
  dns: opt(arr(str)),
  dnsSearch: opt(arr(str)),
  dnsOptions: opt(arr(str)),
  extraHosts: opt(arr(obj<{ host: string; ip: string }>({ host: str, ip: str }))),
  hostNamespaces: opt(arr(oneOf("pid", "ipc", "uts"))),
  publishAll: opt(bool),
  init: opt(bool),
  cidfile: opt(str),
  mounts: opt(arr(checkMount, 1024)),
  readOnly: opt(bool),
  shmSize: opt(int),
  userns: opt(oneOf("auto")),
  timeNs: opt(oneOf("private", "from-start", "host")),
});
