/**
 * Each step of the trace in words, as the "containers from scratch" walkthroughs tell it: which
 * namespaces, which mounts, pivot_root, cgroups, capabilities, seccomp, veth, execve. One function
 * per kind of step; a step this table does not know is shown as it is, so the story never skips
 * one. Pure: everything a sentence needs is in the step or in the context.
 */
import { CAPABILITIES } from "../spec/capabilities";
import type { Step } from "./line";

export interface Context {
  /** The host's own namespace inodes (ls -l /proc/self/ns of a process on the host). */
  hostNs: Record<string, string>;
  /** From the front end's lines: the seccomp filter's default action, the container's address. */
  seccompDefault?: string;
  address?: string;
  gateway?: string;
  /** Roles that already tried an execve (the command is looked up along PATH). */
  execve: Set<string>;
}

export function newContext(hostNs: Record<string, string> = {}): Context {
  return { hostNs, execve: new Set() };
}

const ERRNO_NAMES: Record<string, string> = { "1": "EPERM", "38": "ENOSYS", "13": "EACCES" };

/** "errno(1)" -> "EPERM (the call fails with errno 1)". */
export function actionWords(action: string): string {
  const m = /^errno\((\d+)\)$/.exec(action);
  if (m) return `${ERRNO_NAMES[m[1]!] ?? `errno ${m[1]}`} (the call fails, the process goes on)`;
  return action === "allow" ? "allow" : action;
}

const LIMITS: Record<string, string> = {
  "pids.max": "at most this many processes (a fork bomb stops here)",
  "memory.max": "memory limit in bytes (the kernel's OOM killer acts beyond it)",
  "memory.limit_in_bytes": "memory limit in bytes (the kernel's OOM killer acts beyond it)",
  "memory.memsw.limit_in_bytes": "memory plus swap, in bytes (equal to the memory limit: no swap)",
  "memory.swap.max": "swap the container may use",
  "memory.swappiness": "no swapping of its pages",
  "cpu.max": "CPU quota per period, in microseconds",
  "cpu.cfs_quota_us": "CPU quota per period, in microseconds",
  "cpu.cfs_period_us": "the CPU period the quota is counted in",
  "cpu.shares": "relative CPU weight",
  "cpu.weight": "relative CPU weight",
};

function mountWords(f: Record<string, string>): string {
  const flags = f.flags && f.flags !== "none" ? f.flags : "";
  if (f.flags?.includes("remount")) return `remount ${f.target} with ${flags}${f.data ? ` (${f.data})` : ""}`;
  if (f.flags?.split(",").includes("bind")) return `bind-mount ${f.source} on ${f.target}${flags && flags !== "bind" ? ` (flags ${flags})` : ""}`;
  return `mount ${f.source || "none"} on ${f.target}, type ${f.type || "none"}, flags ${flags || "none"}${f.data ? `, options ${f.data}` : ""}`;
}

/** "pid=N mnt=I uts=I ... pid=I cgroup=I": the process first, then its namespaces' inodes. */
function namespaceWords(s: Step, host: Record<string, string>): string {
  const [, ...kinds] = s.pairs;
  const list = kinds.map(([k, ino]) => `${k}:[${ino}]${host[k] === ino ? " (still the host's)" : ""}`).join(" ");
  return `its namespaces, as ls -l /proc/${s.fields.pid}/ns shows them: ${list}`;
}

function capabilityWords(f: Record<string, string>): string {
  const kept = f.bounding && f.bounding !== "none" ? f.bounding.split(",") : [];
  const dropped = Object.keys(CAPABILITIES).filter((c) => !kept.includes(c));
  return `capabilities kept (bounding, effective, permitted): ${kept.length ? kept.join(" ") : "none"}; dropped: ${dropped.length ? dropped.join(" ") : "none"}; inheritable ${f.inheritable}, ambient ${f.ambient}`;
}

type Words = (f: Record<string, string>, ctx: Context, s: Step) => string | undefined;

/** The front end's phases (src/). */
const FRONT: Record<string, Words> = {
  start: () => "box starts: Bun runs box's bundled TypeScript",
  image: (f) => `the image: ${f.image}, in the store (its layers will be the lower layers of an overlay)`,
  verify: (f) => `${f.image} is carried inside this executable (box pack): each of its blobs is checked against its sha256 before it is used`,
  "carried-load": (f) => `${f.image} goes into the store through box load's own path (${f.blobs} blobs, every layer checked against its diffID), once`,
  unpack: (f) => `${f.image} is unpacked into the store, once: its layer ${f.layer?.slice(7, 19)} becomes a directory shared by every container of it`,
  directory: (f) => `the container's id is ${f.id?.slice(0, 12)}; its directory is made complete under a scratch name, then renamed into place`,
  name: (f) => `its name ${f.name} is claimed (a file created with link(), so two runs cannot both get it)`,
  user: (f) => `the command will run as user ${f.user}, looked up in the image's own /etc/passwd`,
  network: (f) => f.mode === "none" ? "network: none, a network namespace of its own with only loopback" : f.mode === "host" ? "network: the host's own stack, shared (no network namespace)"
    : f.mode === "pasta" || f.mode === "slirp4netns" ? `network: ${f.mode}, a user-mode stack outside the container's network namespace (rootless)` : "network: bridge, a network namespace with loopback and eth0 on box's bridge",
  address: (f, ctx) => {
    [ctx.address, ctx.gateway] = [f.address, f.gateway];
    return `eth0 will be ${f.address}, default route via ${f.gateway} on the bridge ${f.bridge}; the host's end of the veth pair will be ${f["host-veth"]}`;
  },
  cgroup: (f) => `cgroups: a directory of its own in each hierarchy, below ${f.parent}`,
  "cgroup-dir": (f) => `mkdir ${f.path}`,
  "cgroup-write": (f) => {
    const file = f.path?.slice(f.path.lastIndexOf("/") + 1) ?? "";
    return `write ${f.value} to ${f.path}${LIMITS[file] ? `: ${LIMITS[file]}` : ""}`;
  },
  spec: () => "the spec, shaped like an OCI runtime spec, and from it the helper's plan: one record per step, all decided here (src/spec/plan.ts)",
  "seccomp-filter": (f, ctx) => {
    ctx.seccompDefault = f.default;
    return `the seccomp filter, compiled to classic BPF: ${f.instructions} instructions, default action ${actionWords(f.default ?? "")} (src/spec/seccomp/filter.ts)`;
  },
  exec: () => "box becomes the helper: execveat() of the static C helper from a sealed memfd (src/helper.ts), same pid; nothing of Bun stays",
};

/** The helper's steps (helper/). */
const HELPER: Record<string, Words> = {
  start: () => "the helper runs (the same process, now C) and has read and checked its whole plan",
  "cgroup-file": (f) => `open ${f.path}, to ${f.path?.endsWith("/tasks") ? "hand to the container's first process, which writes itself into it" : "move the container's first process into its cgroup"}`,
  bridge: (f) => `the bridge ${f.name} is there (made with its address /${f.prefix} when missing)`,
  sysctl: (f, _ctx, s) => (s.role === "supervisor" ? `write ${f.value} to ${f.path}` : `write ${f.value} to /proc/sys/${f.path}, a sysctl of the container's own namespaces`),
  "cgroup-self": (f) => `write 0 into ${f.files} cgroup v1 tasks file${f.files === "1" ? "" : "s"}: the process moves itself into its cgroups before anything else (moving itself takes no lock, so no wait for the kernel's RCU grace period)`,
  overlay: (f) => `the root: an overlay of ${f.layers} image layer${f.layers === "1" ? "" : "s"} on ${f.merged}, ${f.api === "lowerdir+" ? "one fsconfig() lowerdir+ per layer (any count overlayfs takes)" : "one page of mount options, the layers named relative to their directory"}`,
  rlimits: (f) => `setrlimit(): ${f.count} resource limit${f.count === "1" ? "" : "s"}, while the process is still root`,
  restart: (f) => `the command ended after ${f["ran-ms"]} ms; its restart policy starts the container again in ${f["backoff-ms"]} ms (restarts so far: ${f.restarts})`,
  console: (f) => `the console is offered on ${f.socket}: box attach (and box run -it) connect there`,
  attached: (f) => `a client is attached to the console (${f.rows}x${f.cols})${f.owner === "1" ? ": box run's own, holding your terminal" : ""}`,
  detached: () => "the client left with its detach keys: the container runs on, its output in its log",
  "client-gone": (f) => `the console's client is gone${f.owner === "1" ? " without detaching: it was box run's own, so the container is killed with it" : ""}`,
  clone: (f) => `clone() with CLONE_NEW* flags: the container's first process, pid ${f.pid} here and PID 1 in its new PID namespace${f["in-cgroup"] === "1" ? ", born in its cgroup (CLONE_INTO_CGROUP)" : ""}`,
  namespaces: (_f, ctx, s) => namespaceWords(s, ctx.hostNs),
  "user-namespace": (f) => `the container's user namespace gets its ids: ${f["uid-ranges"]} uid and ${f["gid-ranges"]} gid range${f["gid-ranges"] === "1" ? "" : "s"}, ${f.tool === "yes" ? "through newuidmap and newgidmap (the ranges /etc/subuid and /etc/subgid give)" : "written into /proc/PID/uid_map and gid_map"}; it waited for them (sync 0)`,
  reexec: () => "the container's first process executes the helper again, now in its user namespace, so that namespace's owner may join it (box exec)",
  idmap: (f) => `an idmapped clone of ${f.path} over itself: the layer's files show with the container's ids, on disk they stay as they are`,
  fuse: (f) => `fuse-overlayfs (${f.daemon}) serves the container's root, mounted by root of its user namespace; the daemon stays outside the container`,
  "net-tool": (f) => `${f.program} (pid ${f.pid}) gives the container's network namespace its way out, and its published ports`,
  "time-namespace": (f) => `a time namespace of its own${f["from-start"] === "1" ? ": its monotonic and boot-time clocks count from the container's start" : ""}`,
  pidfile: (f) => `the pidfile ${f.path}: the supervisor's pid and start time, for box ps and box exec`,
  cgroup: (f) => f.files === "0" ? `pid ${f.pid} is already in its cgroup` : `write pid ${f.pid} into ${f.files} cgroup.procs file${f.files === "1" ? "" : "s"}: from now on it and its children count against the limits`,
  veth: (f) => `the veth pair: ${f.host} on the host, attached to ${f.bridge}; its peer moved into the container's network namespace as ${f.container}`,
  "cgroup-namespace": (f) => f.new === "1" ? "unshare(CLONE_NEWCGROUP): a cgroup namespace, made after the join, so the container sees its own cgroup as /" : "no cgroup namespace of its own",
  propagation: () => "mount --make-rprivate /: nothing mounted from here on propagates to the host",
  "host-mount": (f) => `${mountWords(f)}: the container's root, on the host side`,
  mount: (f) => mountWords(f),
  mkdir: () => undefined,
  file: (f) => `an empty file ${f.path}, to bind a host file over`,
  device: (f) => `bind the host's ${f.path} (its device numbers checked first)`,
  symlink: (f) => `symlink ${f.path}`,
  mask: (f) => `mask ${f.path}: /dev/null (or an empty read-only tmpfs) bound over it`,
  readonly: (f) => `bind ${f.path} onto itself read-only`,
  address: (f, ctx) => `loopback up; ${f.if} up with ${ctx.address ?? `its address (/${f.prefix})`}${f["default-route"] === "yes" ? `, default route${ctx.gateway ? ` via ${ctx.gateway}` : ""}` : ""} (netlink, no ip command needed)`,
  pivot_root: () => "pivot_root(\".\", \".\") into the new root, then umount2(\".\", MNT_DETACH): the host's root is detached, out of reach",
  tty: () => "a pty from the container's own devpts; its master goes to the supervisor",
  fork: (f) => `fork(): the command becomes PID ${f["command-pid"]}; this process stays as PID 1, box's init`,
  "confine-init": (f) => `box's init (PID 1) confines itself: uid ${f.uid}, no capabilities, no_new_privs, the seccomp filter (${f["seccomp-instructions"]} instructions); it only forwards signals and reaps`,
  user: (f) => `setgroups(), setgid(), setuid(): uid ${f.uid}, gid ${f.gid}, ${f.groups} supplementary group${f.groups === "1" ? "" : "s"}`,
  capabilities: (f) => capabilityWords(f),
  seccomp: (f, ctx) => `prctl(PR_SET_NO_NEW_PRIVS) = ${f["no-new-privs"]}, then seccomp: ${f.instructions} BPF instructions${ctx.seccompDefault ? `, default action ${actionWords(ctx.seccompDefault)}` : ""}; nothing after this step may need what the filter refuses`,
  hold: () => "waits at the hold FIFO until box start releases it",
  execve: (f, ctx, s) => {
    const first = !ctx.execve.has(s.role);
    ctx.execve.add(s.role);
    return first ? `execve("${f.path}"): the command replaces the helper's code in this process (a name without / is tried along PATH, candidate by candidate)` : `execve("${f.path}"): the next candidate along PATH`;
  },
  started: () => "the command runs; the supervisor relays its output and signals and waits for its exit status",
  "pin-init": (f) => `the container's init, pid ${f.pid}, pinned by a pidfd and its start time ${f.start} (a reused pid is refused)`,
  join: (f) => `setns() into the init's ${f.namespaces?.replaceAll(",", ", ")} namespaces, then chroot into its root`,
  // The runc CLI's steps (helper/oci.c, hooks.c).
  "join-namespace": (f) => `setns() into the existing namespace ${f.path}${f.type ? ` (${f.type}, for the clone)` : ""}, as config.json names it`,
  "root-propagation": (f) => `the new root's propagation set to ${f.flags}, among the container's own mounts`,
  "mount-copyup": (f) => `${mountWords(f)}, the directory's former contents copied into it (tmpcopyup)`,
  mknod: (f) => `mknod ${f.path}: a device node of config.json's linux.devices, made inside the root`,
  "console-socket": (f) => `the pty master sent to the console socket ${f.path} (SCM_RIGHTS): the caller relays the terminal`,
  hook: (f) => `the ${f.kind} hook ${f.path} ran with the container's state on its stdin (wait status ${f.status})`,
  pid1: (f) => `no init of box's: this process becomes the command itself, PID 1 of its namespace (host pid ${f["command-pid"]})`,
};

/** Whether a step has words of its own (a test finds a TRACE without them). */
export function knows(role: string, what: string): boolean {
  return Object.hasOwn(role === "front" ? FRONT : HELPER, what);
}

/** The sentence for a step, or undefined when it is left out (a mkdir before a mount). */
export function explainStep(s: Step, ctx: Context): string | undefined {
  const table = s.role === "front" ? FRONT : HELPER;
  const words = Object.hasOwn(table, s.what) ? table[s.what]! : undefined;
  if (words) return words(s.fields, ctx, s);
  const rest = Object.entries(s.fields).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${s.what}${rest ? ` ${rest}` : ""}`;
}
