import { defineCommand, type ArgsDef } from "citty";
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseLine } from "../cli/argv";
import { rawEnv } from "../cli/bytes";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError, EXIT } from "../errors";
import { EMBEDDED_ALPINE } from "../image/alpine";
import { formatRef, splitImageAndCommand, type ImageSource } from "../image/reference";
import { collectStaleScratch, isNamed } from "../image/store";
import { buildSpec, type SecurityInput, type SpecInput } from "../spec/build";
import { capabilitiesIn, resolveCapabilities } from "../spec/capabilities";
import { encodePlan, planRecords } from "../spec/plan";
import type { RootAssembly } from "../spec/types";
import {
  collectStale, containerDir, ensureDirs, exitPath, logPath, pidPath, processStart, removeContainer, reserveName,
  writeConfig, type ContainerConfig,
} from "../store/containers";
import type { Spec } from "../spec/types";
import { checkName, newId, shortId } from "../store/ids";
import { onInterrupt } from "../store/interrupt";
import { layoutFor, type Layout } from "../store/layout";
import { requireRoot, showCommandHelp } from "./common";
import { detect as detectCgroups } from "../cgroup/detect";
import { resolveLimits, DEFAULT_PIDS_LIMIT, type LimitFlags, type Limits } from "../cgroup/limits";
import { checkCgroupParent, createCgroup, DEFAULT_CGROUP_PARENT, oomMessages, removeCgroup, type ContainerCgroup } from "../cgroup/setup";
import { availableParallelism, hostname as osHostname } from "node:os";
import { logger } from "../logger";
import { parsePublish, type Publish } from "../net/ports";
import { prepareNetwork } from "../net/setup";

const args = {
  image: { type: "positional", required: false, valueHint: "IMAGE", description: `Image (default alpine:${EMBEDDED_ALPINE.version}, embedded), or a path to a directory to use as the root` },
  command: { type: "positional", required: false, valueHint: "COMMAND [ARG...]", description: "Command to run (default /bin/sh); taken verbatim" },
  rootfs: { type: "string", valueHint: "DIR", description: "Use DIR as the root filesystem (changes are written to it)" },
  name: { type: "string", valueHint: "NAME", description: "Name the container" },
  hostname: { type: "string", valueHint: "NAME", description: "Container hostname (default: the short container id)" },
  env: { type: "string", alias: "e", valueHint: "KEY=VAL", description: "Set an environment variable (repeatable; -e KEY copies it from box's environment)" },
  workdir: { type: "string", alias: "w", valueHint: "DIR", description: "Working directory inside the container (created if missing)" },
  user: { type: "string", alias: "u", valueHint: "UID[:GID]", description: "User and group to run as, by number or by name from the image's /etc/passwd" },
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open: the command reads box's stdin" },
  tty: { type: "boolean", alias: "t", description: "Give the command a pseudo-terminal of the container's own" },
  detach: { type: "boolean", alias: "d", description: "Run in the background and print the container id" },
  publish: { type: "string", alias: "p", valueHint: "[IP:]HOST:CONTAINER[/udp]", description: "Publish a container port on the host (repeatable; needs --network bridge)" },
  network: { type: "string", valueHint: "bridge|none|host", description: "bridge (default; env BOX_NETWORK): eth0 on box's bridge box0, with NAT; none: loopback only; host: the host's stack, shared" },
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
  "cgroup-parent": { type: "string", valueHint: "PATH", description: "Parent cgroup of the container's (default box, below box's own cgroup; env BOX_CGROUP_PARENT)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({
  meta: { name: "run", description: "Run a command in a new container" },
  args,
});

export const repeatable = ["env", "cap-add", "cap-drop", "security-opt", "publish"] as const;

/** A detached container's log is rotated past this size (the older part kept as log.1). */
export const LOG_CAP = 10 * 1024 * 1024;

/** Shown after the options in `box run --help`: the rule that tells IMAGE from COMMAND. */
export const helpFooter = `IMAGE OR COMMAND
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

export interface RunOptions {
  rootfs?: string;
  name?: string;
  hostname?: string;
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  rm: boolean;
  network: "none" | "host" | "bridge";
  publish: Publish[];
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  limits: LimitFlags;
  cgroupParent: string;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function checkHostname(name: string): string {
  if (name.length > 64 || !HOSTNAME.test(name)) {
    throw new BoxError(`invalid hostname "${name}": use up to 64 letters, digits, '-' and '.'`);
  }
  return name;
}

/** -e KEY=VAL as given; -e KEY takes KEY from box's own environment, or is dropped when unset (docker). */
export function checkEnv(entries: readonly string[], hostEnvOf: () => Record<string, string | undefined>): string[] {
  const out: string[] = [];
  let hostEnv: Record<string, string | undefined> | undefined;
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === "" || /\s/.test(key)) throw new BoxError(`invalid environment variable "${e}": expected KEY=VALUE`);
    if (eq >= 0) out.push(e);
    else if ((hostEnv ??= hostEnvOf())[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

/**
 * The confinement of a container, from docker's flags: the default capability set adjusted by
 * --cap-add/--cap-drop, no_new_privs, the seccomp filter and the masked paths, all on unless
 * --security-opt or --privileged turns them off.
 */
export function resolveSecurity(
  o: Pick<RunOptions, "capAdd" | "capDrop" | "privileged" | "securityOpt">,
  available: readonly string[],
): SecurityInput {
  const sec: SecurityInput = {
    capabilities: resolveCapabilities(o.capAdd, o.capDrop, o.privileged, available),
    noNewPrivileges: true,
    seccomp: !o.privileged,
    systemPaths: !o.privileged,
    privileged: o.privileged,
  };
  for (const opt of o.securityOpt) {
    const [key, value = "true"] = opt.split(/[=:]/, 2);
    if (key === "seccomp" && value === "unconfined") sec.seccomp = false;
    else if (key === "systempaths" && value === "unconfined") sec.systemPaths = false;
    else if (key === "no-new-privileges" && (value === "true" || value === "false")) sec.noNewPrivileges = value === "true";
    else {
      throw new BoxError(
        `unsupported security option "${opt}": use seccomp=unconfined, no-new-privileges[=true|false] or systempaths=unconfined`,
      );
    }
  }
  return sec;
}

/** --network, else BOX_NETWORK, else bridge (box run needs root, which the bridge needs too). */
export function checkNetwork(flag: string | undefined, env: Record<string, string | undefined> = process.env): "none" | "host" | "bridge" {
  const mode = flag ?? (env.BOX_NETWORK || undefined) ?? "bridge";
  if (mode === "none" || mode === "host" || mode === "bridge") return mode;
  throw new BoxError(`unknown network "${mode}": use none, host or bridge`);
}

export function checkWorkdir(dir: string): string {
  if (!dir.startsWith("/")) throw new BoxError(`the working directory "${dir}" must be an absolute path`);
  return dir;
}

interface User {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

function readColonFile(path: string): string[][] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/**
 * -u UID[:GID] or NAME[:GROUP]. Names are looked up in the image's own /etc/passwd and /etc/group
 * (read from the stored image, never from the host). A numeric uid without a passwd entry is fine,
 * as in docker; the gid then defaults to 0.
 */
export function resolveUser(spec: string | undefined, etcDir: string | undefined): User {
  const passwd = etcDir ? readColonFile(join(etcDir, "passwd")) : [];
  const groups = etcDir ? readColonFile(join(etcDir, "group")) : [];
  const [u = "", g] = (spec ?? "0").split(":", 2);
  const num = /^\d+$/;
  const entry = num.test(u) ? passwd.find((p) => p[2] === u) : passwd.find((p) => p[0] === u);
  if (!num.test(u) && !entry) throw new BoxError(`unknown user "${u}": it is not in the image's /etc/passwd`);
  const uid = num.test(u) ? Number(u) : Number(entry![2]);
  let gid = entry ? Number(entry[3]) : 0;
  if (g !== undefined) {
    if (num.test(g)) gid = Number(g);
    else {
      const grp = groups.find((x) => x[0] === g);
      if (!grp) throw new BoxError(`unknown group "${g}": it is not in the image's /etc/group`);
      gid = Number(grp[2]);
    }
  }
  if (uid > 0xfffffffe || gid > 0xfffffffe) throw new BoxError(`invalid user "${spec}": ids must be below 4294967295`);
  return { uid, gid, additionalGids: [], home: entry?.[5] || (uid === 0 ? "/root" : "/") };
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

function checkRootfsDir(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new BoxError(`the root filesystem ${path} does not exist`);
  }
  if (!st.isDirectory()) throw new BoxError(`the root filesystem ${path} is not a directory`);
  return realpathSync(path);
}

export function parseRun(tokens: readonly string[]) {
  const line = parseLine(args, tokens, {
    repeatable,
    stopAtFirstWord: true,
    commandName: "run",
  });
  const o = line.options;
  const options: RunOptions = {
    rootfs: o.rootfs as string | undefined,
    name: o.name as string | undefined,
    hostname: o.hostname as string | undefined,
    env: (o.env as string[] | undefined) ?? [],
    workdir: o.workdir as string | undefined,
    user: o.user as string | undefined,
    interactive: o.interactive === true,
    tty: o.tty === true,
    detach: o.detach === true,
    rm: o.rm === true,
    network: checkNetwork(o.network as string | undefined),
    publish: ((o.publish as string[] | undefined) ?? []).map(parsePublish),
    capAdd: (o["cap-add"] as string[] | undefined) ?? [],
    capDrop: (o["cap-drop"] as string[] | undefined) ?? [],
    privileged: o.privileged === true,
    securityOpt: (o["security-opt"] as string[] | undefined) ?? [],
    cgroupParent: checkCgroupParent((o["cgroup-parent"] as string | undefined) ?? (process.env.BOX_CGROUP_PARENT || DEFAULT_CGROUP_PARENT)),
    limits: {
      pidsLimit: o["pids-limit"] as string | undefined,
      memory: o.memory as string | undefined,
      memorySwap: o["memory-swap"] as string | undefined,
      cpus: o.cpus as string | undefined,
      cpuShares: o["cpu-shares"] as string | undefined,
      cpuWeight: o["cpu-weight"] as string | undefined,
    },
  };
  return { options, root: o.root as string | undefined, words: line.words, dashdash: line.dashdash, help: line.help };
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const parsed = parseRun(tokens);
  if (parsed.help) {
    await showCommandHelp(definition, helpFooter);
    return 0;
  }
  const o = parsed.options;
  if (o.name !== undefined) checkName(o.name);
  if (o.hostname !== undefined) checkHostname(o.hostname);
  if (o.workdir !== undefined) checkWorkdir(o.workdir);
  const env = checkEnv(o.env, rawEnv);
  if (o.publish.length > 0 && o.network !== "bridge") throw new BoxError("-p needs --network bridge: only a bridged container has ports to publish");
  if (o.detach && (o.interactive || o.tty)) {
    throw new BoxError("box run -d cannot be combined with -i or -t: a detached container has no terminal to attach to");
  }
  const security = resolveSecurity(o, heldCapabilities());
  const limits = resolveLimits(o.limits, availableParallelism());

  requireRoot("run");

  const layout = layoutFor(parsed.root ?? globals.root);
  const { image, command } = splitImageAndCommand(parsed.words, {
    rootfs: o.rootfs,
    forcedCommand: parsed.dashdash,
    isDirectory,
    isStored: (name) => isNamed(layout, name),
  });

  ensureDirs(layout);
  collectStale(layout);
  collectStaleScratch(layout);
  return await start(layout, image, command, o, env, security, limits);
}

async function start(
  layout: Layout,
  image: ImageSource,
  command: string[],
  o: RunOptions,
  env: string[],
  security: SecurityInput,
  limits: Limits,
): Promise<number> {
  const id = newId();
  const dir = containerDir(layout, id);
  let created = false;
  let named = false;
  let cgroup: ContainerCgroup | undefined;
  let ports: ContainerConfig["ports"];
  const netUndo: Array<() => void> = [];
  const undo = () => {
    if (cgroup) removeCgroup(cgroup.dirs);
    for (const step of netUndo.reverse()) step();
    if (created) removeContainer(layout, id, named ? o.name : undefined);
  };
  const done = onInterrupt(undo);
  try {
    // 1. The root filesystem: an overlay over the stored image, or a directory used in place.
    let rootfs: RootAssembly;
    let etcDir: string;
    let imageName: string;
    let imageDigest: string | undefined;
    if (image.kind === "directory") {
      const path = checkRootfsDir(image.path);
      if (command.length === 0) {
        try {
          lstatSync(join(path, "bin/sh"));
        } catch {
          throw new BoxError(`the root filesystem ${path} has no /bin/sh to run: give a command`, EXIT.notFound);
        }
      }
      rootfs = { kind: "bind", path };
      etcDir = join(path, "etc");
      imageName = path;
    } else {
      const { obtainForRun } = await import("../image/obtain");
      const obtained = await obtainForRun(layout, image.ref);
      const lower = obtained.rootfs;
      rootfs = { kind: "overlay", lower, upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "rootfs") };
      etcDir = join(lower, "etc");
      imageName = formatRef(image.ref);
      imageDigest = obtained.digest;
    }
    const user = resolveUser(o.user, etcDir);

    // 2. The container's own directory, and its name.
    mkdirSync(dir, { mode: 0o700 });
    created = true;
    if (o.name !== undefined) {
      reserveName(layout, o.name, id);
      named = true;
    }
    if (rootfs.kind === "overlay") {
      for (const sub of ["upper", "work", "rootfs"]) mkdirSync(join(dir, sub), { mode: 0o755 });
    }
    // With the host's network, the host's name and name resolution come along (as docker does).
    const hostNet = o.network === "host";
    if (hostNet) logger.warn("--network host shares the host's network stack: the container can use every interface, address and port of the host");
    const hostname = o.hostname ?? (hostNet ? osHostname() : shortId(id));
    const etcFiles = { hostname: join(dir, "hostname"), hosts: join(dir, "hosts"), resolvConf: join(dir, "resolv.conf") };
    const net = await prepareNetwork(layout, id, { mode: o.network, name: o.name, hostname, publish: o.publish }, {
      exists: (other) => existsSync(containerDir(layout, other)),
      hostsOf: (other) => {
        const file = join(containerDir(layout, other), "hosts");
        return existsSync(file) ? file : undefined;
      },
      undo: (step) => netUndo.push(step),
    });
    ports = net.ports;
    writeFileSync(etcFiles.hostname, hostname + "\n", { mode: 0o644 });
    writeFileSync(etcFiles.hosts, net.hosts, { mode: 0o644 });
    writeFileSync(etcFiles.resolvConf, net.resolvConf, { mode: 0o644 });

    // 3. The cgroup, with its limits, ready for the container's first process.
    const argv = command.length > 0 ? command : ["/bin/sh"];
    cgroup = createCgroup(detectCgroups(), id, limits, o.cgroupParent);
    const [oomKilled, oomOther] = cgroup.oom ? oomMessages(cgroup.oom.limit, argv[0]!) : ["", ""];

    // 4. What box remembers of it. Foreground runs are ephemeral unless named; --rm always is.
    const autoRemove = o.rm || (!o.detach && o.name === undefined);
    const config: ContainerConfig = {
      id,
      name: o.name,
      image: imageName,
      imageDigest,
      argv,
      created: new Date().toISOString(),
      cgroups: cgroup.dirs,
      detached: o.detach,
      autoRemove,
      creator: { pid: process.pid, start: processStart(process.pid) ?? "" },
      limits: { ...limits },
      ports,
      spec: undefined as unknown as Spec,
    };

    // 5. The spec, the plan, and the helper that carries it out. Foreground containers are removed
    // by the helper when they end.
    const spec = buildSpec({
      process: {
        args: argv,
        env,
        cwd: o.workdir,
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        home: user.home,
        hostname,
        tty: o.tty,
        stdin: o.interactive,
      },
      security,
      network: o.network,
      bridge: net.bridge,
      cgroup: {
        procs: cgroup.procs,
        cloneInto: cgroup.cloneInto,
        dirs: cgroup.dirs,
        mounts: cgroup.mounts,
        oom: cgroup.oom ? { file: cgroup.oom.file, killed: oomKilled, other: oomOther } : undefined,
      },
      rootfs,
      etcFiles,
      // The supervisor removes an ephemeral container entirely; a kept one keeps its directory.
      cleanup: [
        ...(autoRemove ? [dir, ...(o.name !== undefined ? [join(layout.names, o.name)] : [])] : []),
        pidPath(layout, id),
        ...net.cleanupPaths,
      ],
      sysctls: net.sysctls,
      cleanupExec: net.cleanupExec,
      pidFile: pidPath(layout, id),
      exitFile: autoRemove ? undefined : exitPath(layout, id),
      detach: o.detach ? { id, log: logPath(layout, id), logCap: LOG_CAP } : undefined,
    });
    config.spec = spec;
    writeConfig(layout, config);
    const { becomeHelper } = await import("../helper");
    return await becomeHelper(encodePlan(planRecords(spec)), layout);
  } catch (err) {
    undo();
    throw err;
  } finally {
    done();
  }
}
