/**
 * start: from a created (or stopped) container to its command running under its supervisor.
 *
 *   1. who runs the command: the user, looked up in the image's own /etc/passwd
 *   2. its network (src/net/setup.ts) and its /etc/hostname, /etc/hosts, /etc/resolv.conf
 *   3. its cgroup, with its limits (src/cgroup/setup.ts)
 *   4. the spec (src/spec/build.ts), recorded, and the plan (src/spec/plan.ts)
 *   5. exec into the helper, which takes over the container's lock and supervises it
 * Each step pushes its undo onto the caller's Undo; from step 5 on, the helper cleans up.
 */
import { existsSync, rmSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { detect as detectCgroups } from "../cgroup/detect";
import { createCgroup, oomMessages, removeCgroup } from "../cgroup/setup";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { prepareNetwork } from "../net/setup";
import { buildSpec } from "../spec/build";
import { encodePlan, planRecords } from "../spec/plan";
import type { RunRequest } from "../spec/request";
import type { RootAssembly } from "../spec/types";
import { resolveUser } from "../spec/user";
import { writeFileAtomic } from "../store/atomic";
import { activePath, containerDir, exitPath, logPath, markActive, namePath, pidPath, writeRecord, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import type { Lock } from "../store/lock";
import { inheritable } from "../sys/libc";
import { readRootFile, ROOT_FILE_CAP } from "./rootfiles";
import { monotonicUs, trace } from "../trace";
import type { Undo } from "./undo";

/** A detached container's log is rotated past this size (the older part kept as log.1). */
export const LOG_CAP = 10 * 1024 * 1024;

/** What the container's root is made of: its image's layers and defaults, or a directory in place. */
interface Root {
  assembly: RootAssembly;
  /** Reads a file of the image (its /etc/passwd), never leaving it. */
  readFile(path: string): string | undefined;
  /** The environment: the image's, then -e on top. */
  env(given: readonly string[]): string[];
  config: { WorkingDir?: string; User?: string };
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

export async function startContainer(layout: Layout, r: ContainerRecord, lock: Lock, undo: Undo): Promise<never> {
  const req = r.request;
  if (!req) throw new BoxError(`container ${shortId(r.id)} was made by an older box and cannot be started again: remove it and run a new one`);
  const id = r.id;
  const dir = containerDir(layout, id);
  rmSync(exitPath(layout, id), { force: true }); // how it ended last time
  markActive(layout, id); // before anything it will hold exists

  // 1. The user: -u, else the image's USER; looked up in the image's own /etc/passwd.
  const root = await rootOf(layout, r, req);
  const userSpec = req.user ?? (root.config.User || undefined);
  trace("container/start.ts:1", "user", { user: userSpec ?? "0" });
  const user = resolveUser(userSpec, root.readFile);

  // 2. The network, and the /etc files that go with it. With the host's network, the host's name
  // and name resolution come along (as docker does).
  trace("container/start.ts:2", "network", { mode: req.network });
  const hostNet = req.network === "host";
  if (hostNet) logger.warn("--network host shares the host's network stack: the container can use every interface, address and port of the host");
  const hostname = req.hostname ?? (hostNet ? osHostname() : shortId(id));
  const net = await prepareNetwork(layout, id, { mode: req.network, name: req.name, hostname, publish: req.publish }, {
    exists: (other) => existsSync(containerDir(layout, other)),
    hostsOf: (other) => {
      const file = join(containerDir(layout, other), "hosts");
      return existsSync(file) ? file : undefined;
    },
    undo: (step) => undo.push(step),
  });
  const etcFiles = { hostname: join(dir, "hostname"), hosts: join(dir, "hosts"), resolvConf: join(dir, "resolv.conf") };
  writeFileAtomic(etcFiles.hostname, hostname + "\n", 0o644, false);
  writeFileAtomic(etcFiles.hosts, net.hosts, 0o644, false);
  writeFileAtomic(etcFiles.resolvConf, net.resolvConf, 0o644, false);

  // 3. The cgroup, with its limits, ready for the container's first process.
  const argv = r.argv;
  trace("container/start.ts:3", "cgroup", { parent: req.cgroupParent });
  const cgroup = createCgroup(detectCgroups(), id, req.limits, req.cgroupParent);
  undo.push(() => removeCgroup(cgroup.dirs));
  const [oomKilled, oomOther] = cgroup.oom ? oomMessages(cgroup.oom.limit, argv[0]!) : ["", ""];

  // 4. The spec. An ephemeral container is removed by its supervisor when it ends; a kept one keeps
  // its directory and records how it ended.
  trace("container/start.ts:4", "spec");
  const spec = buildSpec({
    process: {
      args: argv,
      env: root.env(req.env),
      cwd: req.workdir ?? (root.config.WorkingDir || undefined),
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      home: user.home,
      hostname,
      tty: req.tty,
      stdin: req.interactive,
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
    rootfs: root.assembly,
    etcFiles,
    // Claims (name, address, ports) go before the directory: a claim counts as held while its
    // container's directory exists, so nobody takes one back while it is still ours to remove.
    cleanup: [
      ...(r.autoRemove && req.name !== undefined ? [namePath(layout, req.name)] : []),
      ...net.cleanupPaths,
      ...(r.autoRemove ? [dir] : []),
      pidPath(layout, id),
      activePath(layout, id),
    ],
    sysctls: net.sysctls,
    cleanupExec: net.cleanupExec,
    pidFile: pidPath(layout, id),
    exitFile: r.autoRemove ? undefined : exitPath(layout, id),
    detach: req.detach ? { id, log: logPath(layout, id), logCap: req.logMaxSize ?? LOG_CAP, logFormat: "k8s-file" } : undefined,
  });
  const started: ContainerRecord = { ...r, startedAt: new Date().toISOString(), cgroups: cgroup.dirs, ports: net.ports, spec };
  writeRecord(layout, started);

  // 5. The helper, holding the container's lock from now on.
  inheritable(lock.fd);
  trace("container/start.ts:5", "exec", { "monotonic-us": monotonicUs() });
  const { becomeHelper } = await import("../helper");
  return becomeHelper(encodePlan(planRecords(spec)), layout);
}
