/**
 * A container's files, for box cp and box export, reached only through directory fds (the
 * container controls every name, link and directory in them):
 *   - running: its root as it sees it. Its init is pinned (a pidfd; its start time; its parent, the
 *     supervisor), /proc/<init>/root is opened once, and the pidfd says afterwards that the process
 *     was not replaced meanwhile; then everything goes beneath that fd, no link followed. Its binds,
 *     volumes and tmpfs are where it sees them; /proc, /sys and other kernel filesystems are listed,
 *     never entered.
 *   - stopped, to read: its upper directory merged over its image's layers by src/image/rootfs.ts,
 *     nothing mounted; its binds and volumes where it would see them.
 *   - stopped, to write: its overlay mounted nowhere (src/fs/mount.ts: no mount table holds it, it
 *     goes with its fd), while box holds the container's lock so it cannot start meanwhile; the
 *     kernel does overlayfs's copy-up and whiteouts. Binds and volumes as above.
 *   - a --rootfs container, stopped: that directory, in place.
 */
import { closeSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DirTree, LayersTree, MountedTree, resolvePath, type Tree } from "../copy/tree";
import { BoxError } from "../errors";
import { Dir } from "../fs/dir";
import { containerDir, lockPath, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { processStart } from "../store/process";
import { pidfdOpen, pidfdSignal } from "../sys/libc";
import { live, parentOf } from "./state";
import { mountSources } from "./volumes";

export interface View {
  tree: Tree;
  running: boolean;
  /** A directory of the tree (a path with no link in it) to write in, beneath mode; absent when read-only. */
  dirAt?(rel: Buffer): Dir;
  close(): void;
}

const KERNEL_FS = new Set(["proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "securityfs", "debugfs", "tracefs", "bpf", "configfs", "fusectl", "pstore", "binfmt_misc"]);

/** The mount ids of kernel filesystems in a mountinfo (what a copy lists but does not enter). */
export function kernelMounts(mountinfo: string): Set<bigint> {
  const out = new Set<bigint>();
  for (const line of mountinfo.split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    if (KERNEL_FS.has(line.slice(dash + 3).split(" ")[0]!)) out.add(BigInt(line.split(" ")[0]!));
  }
  return out;
}

/** The running container's root, or undefined when it does not run (or its init changed meanwhile). */
function openRunning(layout: Layout, id: string): View | undefined {
  const l = live(layout, id);
  if (!l) return undefined;
  const pidfd = pidfdOpen(l.init);
  if (pidfd === undefined) return undefined;
  try {
    if (processStart(l.supervisor) !== l.supervisorStart || parentOf(l.init) !== l.supervisor) return undefined;
    if (l.initStart !== undefined && processStart(l.init) !== l.initStart) return undefined;
    const dir = Dir.open(`/proc/${l.init}/root`, "beneath");
    let skip: Set<bigint>;
    try {
      skip = kernelMounts(readFileSync(`/proc/${l.init}/mountinfo`, "utf8"));
    } catch {
      skip = new Set();
    }
    // Still the process pinned before the open: what was opened is its root, not another's.
    if (!pidfdSignal(pidfd, 0)) {
      dir.close();
      return undefined;
    }
    const tree = new DirTree(dir, skip);
    return { tree, running: true, dirAt: (rel) => dir.openDir(rel), close: () => tree.close() };
  } finally {
    closeSync(pidfd);
  }
}

/** A stopped container's files (see the top of this file). */
async function openStopped(layout: Layout, r: ContainerRecord, write: boolean): Promise<View> {
  const req = r.request;
  let base: Tree;
  if (req?.image.kind === "directory") {
    base = new DirTree(Dir.open(req.image.path, "beneath"));
  } else {
    if (!r.imageId) throw new BoxError(`container ${shortId(r.id)} has no image recorded`);
    const { imageForRun } = await import("../image/run");
    let layers: string[];
    try {
      layers = (await imageForRun(layout, r.imageId, "never")).layers;
    } catch {
      throw new BoxError(`the image of container ${shortId(r.id)} (${r.image}) is no longer in the store`);
    }
    const dir = containerDir(layout, r.id);
    if (write) {
      const { detachedOverlay } = await import("../fs/mount");
      base = new DirTree(detachedOverlay(layers, join(dir, "upper"), join(dir, "work")));
    } else base = new LayersTree([join(dir, "upper"), ...layers]);
  }
  const mounts: Array<{ at: Buffer; tree: Tree }> = [];
  try {
    for (const m of mountSources(layout, r)) {
      let source: Dir;
      try {
        source = Dir.open(m.source, "beneath");
      } catch {
        continue; // gone, or a file bound: the root's own shows
      }
      mounts.push({ at: resolvePath(base, Buffer.from(m.target), true)?.rel ?? Buffer.from(m.target.slice(1)), tree: new DirTree(source) });
    }
  } catch (err) {
    base.close();
    for (const m of mounts) m.tree.close();
    throw err;
  }
  const tree = mounts.length > 0 ? new MountedTree(base, mounts) : base;
  const dirAt = (rel: Buffer): Dir => {
    const w = tree instanceof MountedTree ? tree.where(rel) : { tree, rel };
    if (!(w.tree instanceof DirTree)) throw new BoxError("this view of the container cannot be written");
    if (w.tree === base && req?.readOnly) throw new BoxError(`the root filesystem of container ${shortId(r.id)} is read-only (--read-only): copy into one of its volumes`);
    return w.tree.dir.openDir(w.rel);
  };
  return { tree, running: false, ...(write ? { dirAt } : {}), close: () => tree.close() };
}

/** A container's files to read (cp from it) or to write (cp into it); the caller closes the view. */
export async function openView(layout: Layout, r: ContainerRecord, mode: "read" | "write"): Promise<View> {
  const running = openRunning(layout, r.id);
  if (running) return running;
  if (mode === "read") return openStopped(layout, r, false);
  const lock = Lock.try(lockPath(layout, r.id), false);
  if (!lock) {
    const again = openRunning(layout, r.id);
    if (again) return again;
    throw new BoxError(`container ${shortId(r.id)} is starting, stopping or being removed: try again`);
  }
  try {
    const view = await openStopped(layout, r, true);
    const close = () => {
      view.close();
      lock.release();
    };
    return { ...view, close };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** What box export writes: the container's own filesystem (its image and its changes; no volume,
 * bind or mount of the kernel's, as docker export), running or not. */
export async function openExportTree(layout: Layout, r: ContainerRecord): Promise<Tree> {
  if (r.request?.image.kind === "directory") return new DirTree(Dir.open(r.request.image.path, "beneath"));
  if (!r.imageId) throw new BoxError(`container ${shortId(r.id)} has no image recorded`);
  const { imageForRun } = await import("../image/run");
  const image = await imageForRun(layout, r.imageId, "never").catch(() => {
    throw new BoxError(`the image of container ${shortId(r.id)} (${r.image}) is no longer in the store`);
  });
  return new LayersTree([join(containerDir(layout, r.id), "upper"), ...image.layers]);
}
