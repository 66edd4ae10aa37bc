/**
 * The options of a new container (box run, box create), as docker parses them, and their
 * translation into a RunRequest (src/spec/request.ts): every check happens here, before anything
 * is made.
 */
import type { ArgsDef } from "citty";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { DEFAULT_PIDS_LIMIT, parseSize, resolveLimits } from "../cgroup/limits";
import { checkCgroupParent, DEFAULT_CGROUP_PARENT } from "../cgroup/setup";
import { signalName } from "../container/signal";
import { BoxError, describeSystemError } from "../errors";
import { EMBEDDED_ALPINE } from "../image/alpine";
import { parsePublish } from "../net/ports";
import { capabilitiesIn } from "../spec/capabilities";
import { checkDataOptions } from "../spec/mount-options";
import { checkEnv, checkHostname, checkWorkdir, resolveSecurity } from "../spec/options";
import type { RunRequest } from "../spec/request";
import { checkName } from "../store/ids";
import type { Layout } from "../store/layout";
import { statSync } from "node:fs";
import { rawEnv } from "./bytes";
import { parseLine, type ParsedLine } from "./argv";
import { parseAddHost, parseDevice, parseDns, parseEnvFile, parseLabels, parseNamespaceMode, parseRestart, parseSysctl, parseUlimit } from "./run-flags";
import { checkIsolation } from "./isolation-flags";
import { globalArgs } from "./shared";

export const containerArgs = {
  image: { type: "positional", required: false, valueHint: "IMAGE", description: `Image (default alpine:${EMBEDDED_ALPINE.version}, embedded), or a path to a directory to use as the root` },
  command: { type: "positional", required: false, valueHint: "COMMAND [ARG...]", description: "Command to run (default /bin/sh); taken verbatim" },
  rootfs: { type: "string", valueHint: "DIR", description: "Use DIR as the root filesystem (changes are written to it)" },
  name: { type: "string", valueHint: "NAME", description: "Name the container" },
  hostname: { type: "string", alias: "h", valueHint: "NAME", description: "Container hostname (default: the short container id)" },
  env: { type: "string", alias: "e", valueHint: "KEY=VAL", description: "Set an environment variable (repeatable; -e KEY copies it from box's environment)" },
  "env-file": { type: "string", valueHint: "FILE", description: "Read KEY=VALUE lines from FILE (repeatable; before -e)" },
  label: { type: "string", alias: "l", valueHint: "KEY=VALUE", description: "Set a label on the container (repeatable)" },
  workdir: { type: "string", alias: "w", valueHint: "DIR", description: "Working directory inside the container (created if missing)" },
  user: { type: "string", alias: "u", valueHint: "UID[:GID]", description: "User and group to run as, by number or by name from the image's /etc/passwd" },
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open: the command reads box's stdin" },
  tty: { type: "boolean", alias: "t", description: "Give the command a pseudo-terminal of the container's own" },
  detach: { type: "boolean", alias: "d", description: "Run in the background and print the container id (with -it: a terminal kept for box attach)" },
  init: { type: "boolean", description: "Run an init as PID 1 (box always does: accepted for docker's sake)" },
  restart: { type: "string", valueHint: "no|on-failure[:N]|always|unless-stopped", description: "Restart the command when it ends (default no)" },
  "stop-signal": { type: "string", valueHint: "SIGNAL", description: "Signal box stop sends first (default SIGTERM)" },
  "stop-timeout": { type: "string", valueHint: "SECONDS", description: "How long box stop waits before SIGKILL (default 10)" },
  cidfile: { type: "string", valueHint: "FILE", description: "Write the container id to FILE (which must not exist)" },
  publish: { type: "string", alias: "p", valueHint: "[IP:]HOST:CONTAINER[/udp]", description: "Publish a container port on the host (repeatable; needs --network bridge, pasta or slirp4netns)" },
  "publish-all": { type: "boolean", alias: "P", description: "Publish every port the image exposes on a free host port" },
  network: { type: "string", valueHint: "bridge|none|host|pasta|slirp4netns", description: "bridge (root's default; env BOX_NETWORK): eth0 on box0, with NAT; none: loopback only; host: the host's stack, shared; pasta, slirp4netns: rootless (the default, when installed)" },
  userns: { type: "string", valueHint: "auto|host", description: "auto: as root, a range of ids of the container's own, so its root is nobody on the host (env BOX_USERNS)" },
  "time-ns": { type: "string", valueHint: "private|from-start|host", description: "A time namespace (private, the default where the kernel has one); from-start: uptime and the monotonic clocks count from the container's start" },
  "add-host": { type: "string", valueHint: "NAME:IP", description: "Add a line to /etc/hosts (repeatable; IP may be host-gateway)" },
  dns: { type: "string", valueHint: "IP", description: "Name server for /etc/resolv.conf (repeatable; replaces the host's)" },
  "dns-search": { type: "string", valueHint: "DOMAIN", description: "Search domain for /etc/resolv.conf (repeatable)" },
  "dns-option": { type: "string", valueHint: "OPTION", description: "Option for /etc/resolv.conf (repeatable)" },
  pid: { type: "string", valueHint: "host", description: "host: share the host's PID namespace" },
  ipc: { type: "string", valueHint: "host", description: "host: share the host's IPC namespace (and its /dev/shm)" },
  uts: { type: "string", valueHint: "host", description: "host: share the host's hostname (UTS namespace)" },
  rm: { type: "boolean", description: "Remove the container when it exits (foreground runs without --name always are)" },
  "cap-add": { type: "string", valueHint: "CAP", description: "Add a capability to the default set (repeatable; ALL for every one)" },
  "cap-drop": { type: "string", valueHint: "CAP", description: "Drop a capability from the default set (repeatable; ALL for every one)" },
  privileged: { type: "boolean", description: "Every capability, no seccomp filter, no masked paths, writable /sys" },
  "pids-limit": { type: "string", valueHint: "N", description: `Most processes the container may have (default ${DEFAULT_PIDS_LIMIT}; -1 for no limit)` },
  memory: { type: "string", alias: "m", valueHint: "SIZE", description: "Memory limit, like 64m or 1g (no swap unless --memory-swap)" },
  "memory-swap": { type: "string", valueHint: "SIZE", description: "Memory plus swap the container may use (-1: unlimited swap)" },
  cpus: { type: "string", valueHint: "X", description: "CPUs the container may use, like 0.5 (a CFS quota)" },
  "cpu-shares": { type: "string", valueHint: "N", description: "Relative CPU weight, cgroup v1 style (2-262144; default 1024)" },
  "cpu-weight": { type: "string", valueHint: "N", description: "Relative CPU weight, cgroup v2 style (1-10000; default 100)" },
  "security-opt": { type: "string", valueHint: "OPT", description: "seccomp=unconfined, no-new-privileges[=false], systempaths=unconfined (repeatable)" },
  pull: { type: "string", valueHint: "missing|always|never", description: "Pull the image: when it is not in the store (default), every time, or never" },
  entrypoint: { type: "string", valueHint: "CMD", description: "Run CMD instead of the image's entrypoint (\"\" for none)" },
  "log-opt": { type: "string", valueHint: "max-size=SIZE", description: "Log option of a detached container: max-size=SIZE rotates the log past SIZE (default 10m; the older part kept as log.1)" },
  device: { type: "string", valueHint: "HOST[:CONTAINER[:rwm]]", description: "Bind a host character device into the container's /dev (repeatable)" },
  ulimit: { type: "string", valueHint: "NAME=SOFT[:HARD]", description: "Resource limit of the command, like nofile=1024:2048 (repeatable)" },
  sysctl: { type: "string", valueHint: "NAME=VALUE", description: "Namespaced kernel parameter, like net.ipv4.ip_unprivileged_port_start=0 (repeatable)" },
  explain: { type: "boolean", description: "Tell each step box and its helper take to make the container, on stderr (namespaces, mounts, cgroups, capabilities, seccomp, execve)" },
  "cgroup-parent": { type: "string", valueHint: "PATH", description: "Parent cgroup of the container's (default box, below box's own cgroup; env BOX_CGROUP_PARENT)" },
  volume: { type: "string", alias: "v", valueHint: "SRC:DST[:ro]", description: "Bind a host path (absolute) or mount a named volume; -v DST for an anonymous volume (repeatable)" },
  mount: { type: "string", valueHint: "type=bind|volume|tmpfs,...", description: "Attach a mount: source=, target=, readonly, bind-propagation=, bind-recursive=, volume-nocopy, tmpfs-size=, tmpfs-mode= (repeatable)" },
  tmpfs: { type: "string", valueHint: "PATH[:OPTS]", description: "Mount a tmpfs (noexec,nosuid,nodev unless OPTS say exec, suid; size=, mode=) (repeatable)" },
  "read-only": { type: "boolean", description: "Mount the root filesystem read-only (--tmpfs /tmp, /run for writable places)" },
  "shm-size": { type: "string", valueHint: "SIZE", description: "Size of /dev/shm (default 64m)" },
  ...globalArgs,
} as const satisfies ArgsDef;


export const containerRepeatable = ["env", "env-file", "label", "cap-add", "cap-drop", "security-opt", "publish", "log-opt", "add-host", "dns", "dns-search", "dns-option", "device", "ulimit", "sysctl", "volume", "mount", "tmpfs"] as const;

/** Shown after the options in `box run --help`: the rule that tells IMAGE from COMMAND. */
export const runHelpFooter = `IMAGE OR COMMAND
  The first word is the IMAGE when it is a known image name (alpine, alpine:TAG) or a path
  containing '/' to an existing directory; otherwise it is the COMMAND, run in alpine:${EMBEDDED_ALPINE.version}.
  Everything after the image is the container's command line, verbatim. After \`--\`, every word is
  the command. Options go before the image.

EXAMPLES
  box run sh                          a shell in the embedded Alpine
  box run -it alpine sh               an interactive shell with its own terminal
  box run alpine ls -la /             -la belongs to ls
  box run --rootfs ./rootfs /bin/sh   a directory as the root (changes are written to it)
  box run -e NAME=demo -w /srv sh -c 'echo $NAME in $PWD'

EXIT STATUS
  the command's own; 128+N when it was killed by signal N; 125 when box failed;
  126 when the command cannot be executed; 127 when it is not found`;


/** --pull, as docker's (checked here: the image code is loaded only when an image is needed). */
function checkPull(v: string | undefined): "missing" | "always" | "never" {
  const p = v ?? "missing";
  if (p !== "missing" && p !== "always" && p !== "never") throw new BoxError(`invalid --pull "${p.slice(0, 32)}": use missing, always or never`);
  return p;
}

/** docker's --log-opt, as far as box's log goes: max-size (at least 4 kB). */
function checkLogOpts(opts: string[]): number | undefined {
  let max: number | undefined;
  for (const opt of opts) {
    const [key, value = ""] = opt.split("=", 2);
    if (key !== "max-size") throw new BoxError(`unsupported log option "${opt.slice(0, 64)}": box's log takes max-size=SIZE`);
    max = parseSize(value, "--log-opt max-size");
    if (max < 4096) throw new BoxError(`invalid --log-opt max-size "${value}": the minimum is 4k`);
  }
  return max;
}

/** The capabilities box itself holds (its bounding set): all a container can be given. */
function heldCapabilities(): string[] {
  const status = readFileSync("/proc/self/status", "utf8");
  return capabilitiesIn(/^CapBnd:\s+([0-9a-f]+)$/m.exec(status)?.[1] ?? "0");
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const list = (v: unknown) => (v as string[] | undefined) ?? [];
const text = (v: unknown) => v as string | undefined;

/** The options on their own, checked: what needs no store. */
export function checkOptions(o: ParsedLine["options"]) {
  const name = text(o.name);
  if (name !== undefined) checkName(name);
  const hostname = text(o.hostname);
  if (hostname !== undefined) checkHostname(hostname);
  const workdir = text(o.workdir);
  if (workdir !== undefined) checkWorkdir(workdir);
  const publish = list(o.publish).map(parsePublish);
  const publishAll = o["publish-all"] === true;
  const hostNamespaces = (["pid", "ipc", "uts"] as const).filter((ns) => parseNamespaceMode(ns, text(o[ns])));
  const isolation = checkIsolation({ network: text(o.network), userns: text(o.userns), timeNs: text(o["time-ns"]), publishing: publish.length > 0 ? "-p" : publishAll ? "-P" : undefined, hostNamespaces });
  const network = isolation.network;
  const detach = o.detach === true;
  const interactive = o.interactive === true;
  const tty = o.tty === true;
  if (detach && o.explain === true) throw new BoxError("box run --explain tells how a container is made as it runs in front of you: it cannot be combined with -d");
  const rm = o.rm === true;
  const fromFiles = list(o["env-file"]).flatMap((file) => parseEnvFile(file, readText(file, "--env-file")));
  const env = checkEnv([...fromFiles, ...list(o.env)], rawEnv);
  const security = resolveSecurity(
    { capAdd: list(o["cap-add"]), capDrop: list(o["cap-drop"]), privileged: o.privileged === true, securityOpt: list(o["security-opt"]) },
    heldCapabilities(),
  );
  const limits = resolveLimits(
    {
      pidsLimit: text(o["pids-limit"]),
      memory: text(o.memory),
      memorySwap: text(o["memory-swap"]),
      cpus: text(o.cpus),
      cpuShares: text(o["cpu-shares"]),
      cpuWeight: text(o["cpu-weight"]),
    },
    availableParallelism(),
  );
  const logMaxSize = checkLogOpts(list(o["log-opt"]));
  const cgroupParent = checkCgroupParent(text(o["cgroup-parent"]) ?? (process.env.BOX_CGROUP_PARENT || DEFAULT_CGROUP_PARENT));
  if (hostNamespaces.includes("uts") && hostname !== undefined) throw new BoxError("conflicting options: --hostname and --uts host (the container has the host's hostname)");
  const restart = o.restart !== undefined ? parseRestart(text(o.restart)!) : undefined;
  if (restart && restart.name !== "no" && rm) throw new BoxError("conflicting options: --restart and --rm");
  const stopSignal = o["stop-signal"] !== undefined ? signalName(text(o["stop-signal"])!) : undefined;
  const stopTimeout = text(o["stop-timeout"]);
  if (stopTimeout !== undefined && !/^(-1|\d{1,9})$/.test(stopTimeout)) throw new BoxError(`invalid --stop-timeout "${stopTimeout.slice(0, 32)}": give whole seconds (-1: wait forever)`);
  const sysctls = Object.fromEntries(list(o.sysctl).map((t) => parseSysctl(t, network, hostNamespaces.includes("ipc"))));
  const devices = list(o.device).map((t) => parseDevice(t, deviceStat));
  const cidfile = text(o.cidfile);
  if (cidfile !== undefined && existsSync(cidfile)) throw new BoxError(`the container id file ${cidfile} exists: make sure no other container uses it, or remove it`);
  const data = checkDataOptions(list(o.volume), list(o.mount), list(o.tmpfs), o["read-only"] === true, text(o["shm-size"]));
  return {
    ...data,
    name, hostname, workdir, network, publish, publishAll, detach, interactive, tty, env, security, limits, cgroupParent, rm, logMaxSize, isolation,
    pull: checkPull(text(o.pull)),
    entrypoint: text(o.entrypoint),
    user: text(o.user),
    rootfs: text(o.rootfs),
    labels: parseLabels(list(o.label)),
    stopSignal,
    stopTimeout: stopTimeout !== undefined ? Number(stopTimeout) : undefined,
    restart,
    ulimits: list(o.ulimit).map(parseUlimit),
    sysctls,
    devices,
    dns: list(o.dns).map(parseDns),
    dnsSearch: list(o["dns-search"]),
    dnsOptions: list(o["dns-option"]),
    extraHosts: list(o["add-host"]).map(parseAddHost),
    hostNamespaces,
    init: o.init === true,
    cidfile,
  };
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new BoxError(`cannot read the ${flag} ${path}: ${describeSystemError(err, false)}`);
  }
}

function deviceStat(path: string) {
  try {
    const st = statSync(path);
    return { isChar: st.isCharacterDevice(), isBlock: st.isBlockDevice(), rdev: st.rdev };
  } catch {
    return undefined;
  }
}

export type CheckedOptions = ReturnType<typeof checkOptions>;

/** The whole request: the options, and the words split into image and command. */
export async function runRequest(layout: Layout, line: ParsedLine, o: CheckedOptions, mode: "run" | "create"): Promise<RunRequest> {
  const { resolveImageWord } = await import("../image/run");
  const word = await resolveImageWord(layout, line.words, { rootfs: o.rootfs, forcedCommand: line.dashdash, isDirectory });
  const image: RunRequest["image"] =
    word.kind === "directory" ? { kind: "directory", path: word.path } : { kind: "image", word: word.word, ...(word.kind === "image" && word.orCommandIn ? { orCommandIn: word.orCommandIn } : {}) };
  return {
    image,
    pull: o.pull,
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
    command: word.command,
    name: o.name,
    hostname: o.hostname,
    env: o.env,
    workdir: o.workdir,
    user: o.user,
    interactive: o.interactive,
    tty: o.tty,
    detach: mode === "run" ? o.detach : true,
    // Foreground runs are ephemeral unless named; --rm always is.
    autoRemove: o.rm || (mode === "run" && !o.detach && o.name === undefined),
    network: o.network,
    ...(o.isolation.userns ? { userns: o.isolation.userns } : {}),
    timeNs: o.isolation.timeNs,
    publish: o.publish,
    security: o.security,
    limits: o.limits,
    cgroupParent: o.cgroupParent,
    ...(o.logMaxSize !== undefined ? { logMaxSize: o.logMaxSize } : {}),
    labels: o.labels,
    stopSignal: o.stopSignal,
    stopTimeout: o.stopTimeout,
    restart: o.restart,
    ulimits: o.ulimits,
    sysctls: o.sysctls,
    devices: o.devices,
    dns: o.dns,
    dnsSearch: o.dnsSearch,
    dnsOptions: o.dnsOptions,
    extraHosts: o.extraHosts,
    hostNamespaces: o.hostNamespaces,
    publishAll: o.publishAll,
    init: o.init,
    cidfile: o.cidfile,
    ...(o.mounts.length > 0 ? { mounts: o.mounts } : {}),
    ...(o.readOnly ? { readOnly: true } : {}),
    ...(o.shmSize !== undefined ? { shmSize: o.shmSize } : {}),
  };
}

/** run's command line parsed (not yet checked): options, words, `--`, --help. */
export function parseRunLine(tokens: readonly string[]): ParsedLine {
  return parseLine(containerArgs, tokens, { repeatable: containerRepeatable, stopAtFirstWord: true, commandName: "run" });
}
