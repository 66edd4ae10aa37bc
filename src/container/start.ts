/**
 * start: from a created (or stopped) container to its command running under its supervisor.
 *
 *   1. who runs the command: the user, looked up in the image's own /etc/passwd; its mounts
 *      (binds, volumes made and filled on first use, tmpfs: ./volumes.ts)
 *   2. its network (src/net/setup.ts) and its /etc/hostname, /etc/hosts, /etc/resolv.conf
 *   3. its cgroup, with its limits (src/cgroup/setup.ts)
 *   4. the spec (src/spec/build.ts), recorded, and the plan (src/spec/plan.ts)
 *   5. exec into the helper, which takes over the container's lock and supervises it
 * Each step pushes its undo onto the caller's Undo; from step 5 on, the helper cleans up.
 */
import { existsSync, rmSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { oomMessages, removeCgroup } from "../cgroup/setup";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { prepareNetwork } from "../net/setup";
import { buildSpec } from "../spec/build";
import { encodePlan, planRecords, type PlanRecord } from "../spec/plan";
import { summarizeFilter } from "../spec/seccomp/summary";
import type { RunRequest } from "../spec/request";
import type { RootAssembly } from "../spec/types";
import { resolveUser } from "../spec/user";
import { writeFileAtomic } from "../store/atomic";
import { activePath, attachPath, containerDir, exitPath, logPath, markActive, namePath, pidPath, stoppedPath, writeRecord, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import type { Lock } from "../store/lock";
import { inheritable } from "../sys/libc";
import { withDns, withExtraHosts } from "./etc";
import { portsToPublish } from "./publish";
import { DEFAULT_DETACH_KEYS } from "./console";
import { readRootFile, ROOT_FILE_CAP } from "./rootfiles";
import { trace, traceOn, traceRecords } from "../trace";
import { releaseRange } from "../userns/auto";
import type { IdMapping } from "../userns/ids";
import { cgroupFor, checkMapped, namespacesFor } from "./namespaces";
import type { Undo } from "./undo";
import { prepareMounts } from "./volumes";
import { writeSpec } from "../store/container-spec";

/** A detached container's log is rotated past this size (the older part kept as log.1). */
export const LOG_CAP = 10 * 1024 * 1024;

/** What the container's root is made of: its image's layers and defaults, or a directory in place. */
interface Root {
  assembly: RootAssembly;
  /** Reads a file of the image (its /etc/passwd), never leaving it. */
  readFile(path: string): string | undefined;
  /** The environment: the image's, then -e on top. */
  env(given: readonly string[]): string[];
  config: { WorkingDir?: string; User?: string; Volumes?: Record<string, unknown> };
}

async function rootOf(layout: Layout, r: ContainerRecord, req: RunRequest): Promise<Root> {
  if (req.image.kind === "directory") {
    const path = req.image.path;
    return { assembly: { kind: "bind", path }, readFile: (p) => readRootFile(path, p), env: (given) => [...given], config: {} };
  }
  if (!r.imageId) throw new BoxError(`container ${shortId(r.id)} has no image recorded`);
  const { envFor, imageForRun, readImageFile } = await import("../image/run");
  let image;
  try {
    image = await imageForRun(layout, r.imageId, "never");
  } catch {
    throw new BoxError(`the image of container ${shortId(r.id)} (${r.image}) is no longer in the store`);
  }
  const dir = containerDir(layout, r.id);
  return {
    assembly: { kind: "overlay", lowers: image.layers, upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "rootfs") },
    readFile: (p) => readImageFile(image, p, ROOT_FILE_CAP)?.toString("utf8"),
    env: (given) => envFor(image.config, given),
    config: image.config,
  };
}

export interface StartOptions {
  /** What a detached start prints once the command runs (default: the id; box start: the name given). */
  announce?: string;
  /** Run attached to box's terminal this time (box start -a), even if the container was made detached. */
  foreground?: boolean;
  /** Whether the command reads box's stdin this time (box start -a without -i: no). */
  stdin?: boolean;
  /** The detach keys of box's terminal when it stays attached (docker's --detach-keys; default Ctrl-P Ctrl-Q). */
  detachKeys?: number[];
}

/** docker's RLIMIT names, as the OCI spec spells them. */
function rlimits(req: RunRequest) {
  return (req.ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft, hard: u.hard }));
}

export async function startContainer(layout: Layout, r: ContainerRecord, lock: Lock, undo: Undo, opts: StartOptions = {}): Promise<never> {
  const req = r.request;
  if (!req) throw new BoxError(`container ${shortId(r.id)} was made by an older box and cannot be started again: remove it and run a new one`);
  const id = r.id;
  const dir = containerDir(layout, id);
  rmSync(exitPath(layout, id), { force: true }); // how it ended last time
  rmSync(stoppedPath(layout, id), { force: true }); // and that a person stopped it
  markActive(layout, id); // before anything it will hold exists

  // 1. The user: -u, else the image's USER; looked up in the image's own /etc/passwd.
  const root = await rootOf(layout, r, req);
  const userSpec = req.user ?? (root.config.User || undefined);
  trace("container/start.ts:1", "user", { user: userSpec ?? "0" });
  let user = resolveUser(userSpec, root.readFile);
  if (layout.userns) user = checkMapped(layout.userns, user);
  const a = root.assembly;
  const data = await prepareMounts(layout, r, req, a.kind === "overlay" ? { layers: a.lowers, upper: a.upper, volumes: Object.keys(root.config.Volumes ?? {}) } : undefined);

  // 2. The network, and the /etc files that go with it. With the host's network, the host's name
  // and name resolution come along (as docker does).
  trace("container/start.ts:2", "network", { mode: req.network });
  const hostNet = req.network === "host";
  const hostUts = (req.hostNamespaces ?? []).includes("uts");
  if (hostNet) logger.warn("--network host shares the host's network stack: the container can use every interface, address and port of the host");
  const hostname = req.hostname ?? (hostNet || hostUts ? osHostname() : shortId(id));
  const publish = await portsToPublish(layout, r);
  const net = await prepareNetwork(layout, id, { mode: req.network, name: r.name, hostname, publish }, {
    exists: (other) => existsSync(containerDir(layout, other)),
    hostsOf: (other) => {
      const file = join(containerDir(layout, other), "hosts");
      return existsSync(file) ? file : undefined;
    },
    undo: (step) => undo.push(step),
  });
  if (net.bridge) trace("container/start.ts:2", "address", { address: net.bridge.addressCidr, gateway: net.bridge.gateway, bridge: net.bridge.bridge, "host-veth": net.bridge.hostVeth });
  const etcFiles = { hostname: join(dir, "hostname"), hosts: join(dir, "hosts"), resolvConf: join(dir, "resolv.conf") };
  writeFileAtomic(etcFiles.hostname, hostname + "\n", 0o644, false);
  writeFileAtomic(etcFiles.hosts, withExtraHosts(net.hosts, req, net.bridge?.gateway), 0o644, false);
  writeFileAtomic(etcFiles.resolvConf, withDns(net.resolvConf, req), 0o644, false);

  // The user, time and rootless network namespaces (./namespaces.ts).
  const ns = namespacesFor(layout, id, req, root.assembly, etcFiles, publish);
  if (ns.userns && req.userns === "auto") {
    if (r.autoRemove) undo.push(() => releaseRange(layout.lib, id));
    user = checkMapped(ns.userns.mapping as IdMapping, user);
  }

  // 3. The cgroup, with its limits, ready for the container's first process.
  const argv = r.argv;
  trace("container/start.ts:3", "cgroup", { parent: req.cgroupParent });
  const cgroup = cgroupFor(layout, id, req);
  undo.push(() => removeCgroup(cgroup.dirs));
  const [oomKilled, oomOther] = cgroup.oom ? oomMessages(cgroup.oom.limit, argv[0]!) : ["", ""];

  // 4. The spec. An ephemeral container is removed by its supervisor when it ends; a kept one keeps
  // its directory and records how it ended.
  trace("container/start.ts:4", "spec");
  const detached = req.detach && !opts.foreground;
  // The process holding the user's terminal is never the supervisor: with a terminal (or a restart
  // policy, which outlives box), the supervisor gets a session of its own as with -d, and box's
  // process stays as its console's first client (helper/attach.c) until the command ends or the
  // detach keys come; then the container runs on, its output in its log.
  const restarts = req.restart !== undefined && req.restart.name !== "no";
  const attached = !detached && (req.tty || restarts);
  const spec = buildSpec({
    process: {
      args: argv,
      env: root.env(req.env),
      cwd: req.workdir ?? (root.config.WorkingDir || undefined),
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      home: user.home,
      hostname,
      tty: req.tty,
      stdin: req.interactive && (opts.stdin ?? true),
    },
    security: req.security,
    network: req.network,
    bridge: net.bridge,
    cgroup: {
      procs: cgroup.procs,
      cloneInto: cgroup.cloneInto,
      dirs: cgroup.dirs,
      mounts: cgroup.mounts,
      oom: cgroup.oom ? { file: cgroup.oom.file, killed: oomKilled, other: oomOther } : undefined,
    },
    rootfs: ns.assembly,
    etcFiles,
    userMounts: data.mounts,
    readOnlyRoot: req.readOnly === true,
    shmSize: req.shmSize,
    // Claims (name, address, ports) go before the directory: a claim counts as held while its
    // container's directory exists, so nobody takes one back while it is still ours to remove.
    cleanup: [
      ...(r.autoRemove && r.name !== undefined ? [namePath(layout, r.name)] : []),
      ...net.cleanupPaths,
      ...(r.autoRemove ? ns.cleanup : ns.cleanup.filter((p) => p.startsWith(layout.run))),
      ...(r.autoRemove ? [dir, ...data.anonymous] : []),
      attachPath(layout, id),
      pidPath(layout, id),
      activePath(layout, id),
    ],
    sysctls: net.sysctls,
    cleanupExec: net.cleanupExec,
    pidFile: pidPath(layout, id),
    exitFile: r.autoRemove ? undefined : exitPath(layout, id),
    detach: detached || attached ? { id: attached ? "" : (opts.announce ?? id), log: logPath(layout, id), logCap: req.logMaxSize ?? LOG_CAP, logFormat: "k8s-file" } : undefined,
    hostNamespaces: req.hostNamespaces,
    devices: (req.devices ?? []).map((d) => ({ path: d.container, type: "c", major: d.major, minor: d.minor })),
    rlimits: rlimits(req),
    containerSysctls: req.sysctls,
    restart: req.restart,
    stoppedFile: stoppedPath(layout, id),
    // The console, for box attach: every container that may outlive box's terminal offers it.
    attachSocket: detached || attached ? attachPath(layout, id) : undefined,
    attached: attached ? { detachKeys: opts.detachKeys ?? DEFAULT_DETACH_KEYS } : undefined,
    userns: ns.userns,
    time: ns.time,
    netTool: ns.netTool,
  });
  // A --device's host path may differ from its path in the container: the plan binds from the
  // host's. Its records follow the default devices', in order.
  const userDevices = req.devices ?? [];
  let nth = -(spec.linux.devices.length - userDevices.length);
  const records = planRecords(spec).map((rec): PlanRecord => {
    if (rec[0] !== "device") return rec;
    const d = userDevices[nth++];
    return d ? ["device", d.host, d.container, ...rec.slice(3)] : rec;
  });
  // The host's UTS namespace keeps the host's name: the plan must not set one.
  const plan = spec.linux.namespaces.includes("uts") ? records : records.filter((rec) => rec[0] !== "hostname");
  if (traceOn() && spec.linux.seccomp) trace("container/start.ts:4", "seccomp-filter", summarizeFilter(spec.linux.seccomp));
  const started: ContainerRecord = { ...r, startedAt: new Date().toISOString(), cgroups: cgroup.dirs, ports: net.ports, spec: undefined };
  writeSpec(layout, started, spec);
  writeRecord(layout, started);

  // 5. The helper, holding the container's lock from now on.
  const traced = await traceRecords("container/start.ts:5");
  inheritable(lock.fd);
  const { becomeHelper } = await import("../helper");
  return becomeHelper(encodePlan([...plan, ...traced]), layout);
}
