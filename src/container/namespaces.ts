/**
 * A container's namespaces beyond docker's defaults, as start.ts hands them to the spec:
 *
 *   user  rootless: every container of a user's maps the user's ids (src/userns/ids.ts); its root
 *         is mounted by the container itself, inside its user namespace: the kernel's overlay with
 *         userxattr (Linux 5.11), else fuse-overlayfs; its files are removed as root of the
 *         namespace. --userns=auto (root): a range of its own (src/userns/auto.ts); the image's
 *         layers, root's, are shared through idmapped mounts that the helper's mounter makes, as
 *         root, in the container's mount namespace, with the overlay on them.
 *   time  a time namespace where the kernel has one (--time-ns; from-start: its monotonic and
 *         boot-time clocks count from the container's start)
 *   net   rootless: pasta or slirp4netns (src/net/usermode.ts)
 */
import { accessSync, chmodSync, chownSync, constants, realpathSync } from "node:fs";
import { release as osRelease } from "node:os";
import { join } from "node:path";
import { BoxError } from "../errors";
import type { Publish } from "../net/ports";
import { toolLine } from "../net/usermode";
import { NET_TOOL_READY_MS } from "../spec/plan-userns";
import type { RunRequest } from "../spec/request";
import type { SpecInput } from "../spec/build";
import type { RootAssembly, Spec } from "../spec/types";
import type { User } from "../spec/user";
import { containerDir } from "../store/containers";
import type { Layout } from "../store/layout";
import { claimRange, rangeClaimPath } from "../userns/auto";
import { findTool, outsideId, type IdMapping } from "../userns/ids";
import { sayOnce } from "../userns/notes";
import { delegatedHost, HOW_TO_DELEGATE, limitsAsked } from "../cgroup/delegate";
import { detect as detectCgroups } from "../cgroup/detect";
import { DEFAULT_PIDS_LIMIT } from "../cgroup/limits";
import { createCgroup, type ContainerCgroup } from "../cgroup/setup";
import { haveTimeNamespaces, kernelOverlayInUserns } from "../userns/kernel";

export interface Namespaces {
  userns?: SpecInput["userns"];
  assembly: RootAssembly;
  time?: SpecInput["time"];
  netTool?: SpecInput["netTool"];
  /** Paths the helper removes after an ephemeral container (a range's claim, an API socket). */
  cleanup: string[];
}

/** The root as a rootless container mounts it. BOX_ROOTLESS_OVERLAY=fuse-overlayfs asks for the
 * fuse way even where the kernel's would do (a test of it; a kernel whose overlay misbehaves). */
function rootlessRoot(a: RootAssembly): { assembly: RootAssembly; fuse?: NonNullable<Spec["box"]["userns"]>["fuse"] } {
  if (a.kind !== "overlay") return { assembly: a };
  const forced = process.env.BOX_ROOTLESS_OVERLAY === "fuse-overlayfs";
  if (!forced && kernelOverlayInUserns()) return { assembly: { ...a, userxattr: true } };
  const fuse = findTool("fuse-overlayfs");
  if (!fuse) throw new BoxError(`a rootless container's root needs overlayfs in a user namespace (Linux 5.11; this is ${osRelease()}) or fuse-overlayfs (Debian's fuse-overlayfs package)`);
  try {
    accessSync("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch {
    throw new BoxError("fuse-overlayfs needs /dev/fuse, which you cannot open here: an admin can allow it (chmod 0666 /dev/fuse, the usual mode)");
  }
  // Its daemon serves the connection the mounter opened (/dev/fd/N): it mounts nothing itself.
  const options = "rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other";
  return {
    assembly: { ...a, fuse },
    fuse: { target: a.merged, fstype: "fuse.fuse-overlayfs", options, argv: [fuse, "-o", `lowerdir=${a.lowers.join(":")},upperdir=${a.upper},workdir=${a.work}`, "{fd}"] },
  };
}

/** The user must exist among the namespace's ids. */
export function checkMapped(m: IdMapping, user: User): User {
  if (outsideId(m.uid, user.uid) === undefined || outsideId(m.gid, user.gid) === undefined) {
    throw new BoxError(m.single
      ? `user ${user.uid}:${user.gid} does not exist in your containers: without subordinate ids they have root (your own id) alone`
      : `user ${user.uid}:${user.gid} is beyond the ids your containers have (${m.uid.reduce((n, r) => n + r.count, 0)})`);
  }
  return { ...user, additionalGids: user.additionalGids.filter((g) => outsideId(m.gid, g) !== undefined) };
}

/**
 * --userns=auto: its range, and what the container's root (an unprivileged id) must reach: its
 * directory and those above it searchable (never readable: config.json is root's alone), its
 * upper layer and /etc files its own.
 */
function autoNamespace(layout: Layout, id: string, a: RootAssembly, etc: SpecInput["etcFiles"]): { mapping: IdMapping; idmap: string[] } {
  if (a.kind !== "overlay") throw new BoxError("--userns=auto needs an image: a --rootfs directory's files keep the owners they have");
  const mapping = claimRange(layout.lib, id);
  const uid = mapping.uid[0]!.outside, gid = mapping.gid[0]!.outside;
  for (const dir of [layout.lib, layout.containers, containerDir(layout, id)]) chmodSync(dir, 0o711);
  for (const file of [etc.hostname, etc.hosts, etc.resolvConf]) chownSync(file, uid, gid);
  chownSync(a.upper, uid, gid);
  return { mapping, idmap: a.lowers.map((l) => realpathSync(l)) };
}

export function namespacesFor(
  layout: Layout,
  id: string,
  req: RunRequest,
  assembly: RootAssembly,
  etc: SpecInput["etcFiles"],
  publish: readonly Publish[],
): Namespaces {
  const out: Namespaces = { assembly, cleanup: [] };
  const timeNs = req.timeNs ?? "private";
  if (timeNs !== "host" && haveTimeNamespaces()) out.time = timeNs;
  if (layout.userns) {
    const root = rootlessRoot(assembly);
    out.assembly = root.assembly;
    out.userns = { mapping: layout.userns, cleanupInside: true, reexec: true, ...(root.fuse ? { mounter: "container" as const, fuse: root.fuse } : {}) };
    if (req.network === "pasta" || req.network === "slirp4netns") {
      const socket = join(layout.run, `${id.slice(0, 12)}.slirp`);
      const line = toolLine(req.network, publish, socket);
      out.netTool = { ...line, readyMs: NET_TOOL_READY_MS };
      if (line.apiSocket) out.cleanup.push(line.apiSocket);
    }
  } else if (req.userns === "auto") {
    const { mapping, idmap } = autoNamespace(layout, id, assembly, etc);
    out.userns = { mapping, mounter: "host", idmap };
    const claim = rangeClaimPath(layout.lib, id);
    if (claim) out.cleanup.push(claim);
  }
  return out;
}

/**
 * The container's cgroup: as root, box's (src/cgroup/setup.ts); rootless, in the subtree delegated
 * to the user, or none (src/cgroup/delegate.ts): a limit asked for is then refused, the default pids
 * limit is left out and said so once.
 */
export function cgroupFor(layout: Layout, id: string, req: RunRequest): ContainerCgroup {
  const host = detectCgroups();
  if (!layout.userns) return createCgroup(host, id, req.limits, req.cgroupParent);
  const d = delegatedHost(host);
  if (d.ok) return createCgroup(d.host, id, req.limits, req.cgroupParent);
  const asked = limitsAsked(req.limits, DEFAULT_PIDS_LIMIT);
  if (asked.length > 0) throw new BoxError(`${asked.join(" and ")} need${asked.length > 1 ? "" : "s"} a cgroup, and ${d.why}: ${HOW_TO_DELEGATE}`);
  if (req.limits.pids !== 0) sayOnce(layout, "no-cgroup", `rootless containers run here without a cgroup, so without the default pids limit: ${d.why}`);
  return { dirs: [], procs: [], mounts: [] };
}
