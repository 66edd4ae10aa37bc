/**
 * Everything one container is, as one plain object shaped like the OCI runtime spec
 * (https://github.com/opencontainers/runtime-spec/blob/main/config.md), plus a `box` section for
 * what the OCI spec leaves to the runtime: how the root is assembled, what is cleaned up afterwards.
 * The plan the helper receives is a direct translation of this object (src/spec/plan.ts).
 */
export interface Mount {
  destination: string;
  type: string;
  source: string;
  /** OCI-style options: flags (nosuid, nodev, noexec, ro, bind, rbind, strictatime, ...) and data (mode=755). */
  options: string[];
  /** What to create at the destination first when it is missing: a directory or an empty file.
   * type "remount" changes the flags of what is already mounted there. */
  mountpoint: "dir" | "file";
  /** Missing parents of the destination are made first (a user's mount: -v, --mount, --tmpfs). */
  parents?: boolean;
}

/** A device node of the host, bound into the container after checking it is what it claims. */
export interface Device {
  path: string;
  type: "c";
  major: number;
  minor: number;
}

export type Namespace = "mount" | "uts" | "ipc" | "network" | "pid" | "cgroup" | "user" | "time";

/** A range of a user namespace's ids, as the OCI spec writes it. */
export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

/** How the container's root comes to be: an overlay over a stored image's layers (absolute paths,
 * top first), or a directory bound as is. */
export type RootAssembly =
  | {
      kind: "overlay";
      lowers: string[];
      upper: string;
      work: string;
      merged: string;
      /** Mounted in a user namespace: overlay's own xattrs are user.overlay.* (Linux 5.11). */
      userxattr?: boolean;
      /** Mounted by fuse-overlayfs (this program) instead of the kernel's overlay. */
      fuse?: string;
    }
  | { kind: "bind"; path: string };

export interface Spec {
  ociVersion: "1.0.2";
  process: {
    terminal: boolean;
    /** -i: the command reads box's stdin; without it, /dev/null. */
    stdin: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    /** Capability names (without CAP_) per set, as in the OCI spec. */
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    noNewPrivileges: boolean;
    /** Resource limits of the command (OCI: type RLIMIT_NOFILE, ...; -1 is RLIM_INFINITY). */
    rlimits?: Array<{ type: string; soft: number; hard: number }>;
  };
  root: { path: string };
  hostname: string;
  mounts: Mount[];
  linux: {
    namespaces: Namespace[];
    devices: Device[];
    /** Symlinks made in the container's /dev (fd, stdin, ptmx, ...): target and path. */
    links: Array<{ target: string; path: string }>;
    rootfsPropagation: "private";
    /** The compiled seccomp filter (struct sock_filter[] as hex), or undefined for unconfined. */
    seccomp?: string;
    /** Paths hidden from the container: an empty read-only tmpfs over a directory, /dev/null over a file. */
    maskedPaths: string[];
    /** Paths bound read-only onto themselves. */
    readonlyPaths: string[];
    /** Namespaced kernel parameters set inside the container (OCI: dotted names). */
    sysctl?: Record<string, string>;
    /** The user namespace's ids (with "user" among the namespaces). */
    uidMappings?: IdMap[];
    gidMappings?: IdMap[];
  };
  box: {
    rootfs: RootAssembly;
    /** Directories inside the root that must exist before anything is mounted there. */
    dirs: string[];
    /** cgroup.procs files the container's first process is written into before it goes on. */
    cgroupProcs: string[];
    /** cgroup v2: the cgroup the container is born in, saving the later move into it. */
    cloneInto?: string;
    /** The container's cgroup directories, removed after it ended. */
    cgroupDirs: string[];
    /** Where to look for OOM kills afterwards, and what to say: when the command was killed, when not. */
    oom?: { file: string; killed: string; other: string };
    /** Host paths removed after the container ended. */
    cleanup: string[];
    /** Start the command in a fresh session keyring, not the host's. */
    sessionKeyring: boolean;
    /** The bridge network: the bridge (made when missing), the host end of the veth, eth0's address. */
    network?: {
      bridge: string;
      gatewayCidr: string;
      hostVeth: string;
      addressCidr: string;
      gateway: string;
      /** eth0's MAC address, "02:..." in lower case; else the kernel picks one. */
      mac?: string;
      /** The bridge's MAC address when box makes it (else the kernel's, which follows its ports). */
      bridgeMac?: string;
    };
    /** /proc/sys files set on the host before the container starts (route_localnet for -p). */
    sysctls: Array<[path: string, value: string]>;
    /** Programs run after the container ended (removing its firewall table). */
    cleanupExec: string[][];
    /** Where the supervisor records that it runs, and how the container ended. */
    pidFile?: string;
    exitFile?: string;
    /** --restart: the supervisor starts the command again when it ends, with docker's back-off. */
    restart?: { name: "no" | "on-failure" | "always" | "unless-stopped"; maximumRetryCount: number };
    /** Present while a person has stopped the container (box stop, box kill): no restart then. */
    stoppedFile?: string;
    /** A unix socket the supervisor listens on for box attach (the console protocol: helper/console.c). */
    attachSocket?: string;
    /** A detached run whose caller stays as the console's first client, holding the user's
     * terminal (box run -it), with docker's detach keys (bytes; none when empty). */
    attached?: { detachKeys: number[] };
    /** A detached run: the id printed once the command runs (nothing when empty), and the log its
     * output goes to: "raw" bytes, or "k8s-file" lines (timestamp, stream, F|P, content; helper/log.c). */
    detach?: { id: string; log: string; logCap: number; logFormat?: "raw" | "k8s-file" };
    /** A FIFO the command opens for writing just before its execve: it waits there until someone
     * opens it for reading (box start). The detached caller returns, and the pidfile is written,
     * once it waits (helper/command.c, step l). */
    hold?: string;
    /** An fd of the helper's to which it writes one line per step (helper/trace.c). */
    traceFd?: number;
    /** The user namespace: how its ids are written (newuidmap/newgidmap, or directly; single: the
     * user's own ids alone, setgroups denied), who mounts the root (the mounter: the host's root
     * with idmapped layers, or root of the namespace with fuse-overlayfs), and whether the
     * clean-up runs as root of the namespace (rootless: the container's files are its ids'). */
    userns?: {
      tools?: { uid: string; gid: string };
      single: boolean;
      mounter?: "host" | "container";
      idmap?: string[];
      /** A FUSE root (fuse-overlayfs): mounted by the mounter, its daemon outside the container;
       * "{fd}" in argv is the /dev/fuse connection. */
      fuse?: { target: string; fstype: string; options: string; argv: string[] };
      cleanupInside?: boolean;
      /** Rootless: the container's first process executes the helper again once mapped, so its
       * user may join it (box exec; helper/userns.c). */
      reexec?: boolean;
    };
    /** The time namespace's clocks: from-start (CLOCK_MONOTONIC and CLOCK_BOOTTIME count from the
     * container's start), or the host's (absent). */
    clocks?: "from-start";
    /** pasta or slirp4netns for a rootless container's network ("{pid}" is its first process). */
    netTool?: { argv: string[]; readyMs: number; apiSocket?: string; requests?: string[] };
  };
}
