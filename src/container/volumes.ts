/**
 * A container's own mounts, made ready each time it starts (start.ts, step 1b): binds (a missing
 * -v source made as a directory, as docker does), volumes (made on first use, and filled from the
 * image when empty), the image's VOLUMEs as anonymous volumes, tmpfs. Each becomes spec mounts:
 * the bind, then a remount that makes it nodev (and read-only when asked) while keeping every
 * restriction the source's own mount has (a bind of something on a read-only or nosuid mount
 * stays so). Targets are created inside the root by the helper, parents too, never through a
 * link that leaves it, and a target that is itself a link is refused (helper/rootfs.c).
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { BoxError, describeSystemError } from "../errors";
import { checkTarget, type MountRequest } from "../spec/mounts";
import type { RunRequest } from "../spec/request";
import type { Mount } from "../spec/types";
import type { ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { asSentence } from "../copy/tree";
import { fillVolume } from "../volume/fill";
import { anonymousName, ensureVolume, removeVolume, tryVolumeLock, volumeData, volumePath, volumeUsers, withVolumeLock } from "../volume/store";
import { readSpec } from "../store/container-spec";

/** The container's image as its mounts need it: layers (top first) with its upper dir, VOLUMEs. */
export interface MountImage {
  layers: readonly string[];
  upper: string;
  volumes: string[];
}

export interface PreparedMounts {
  mounts: Mount[];
  /** The anonymous volumes' directories (removed with an ephemeral container). */
  anonymous: string[];
}

/** The restrictions of the mount that holds path (the last of the longest mount points in mountinfo). */
export function sourceRestrictions(path: string, mountinfo = readFileSync("/proc/self/mountinfo", "utf8")): string[] {
  let best: { point: string; options: string[] } | undefined;
  for (const line of mountinfo.split("\n")) {
    const f = line.split(" ");
    if (f.length < 6) continue;
    const point = f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const holds = point === "/" || path === point || path.startsWith(point + "/");
    if (holds && (!best || point.length >= best.point.length)) best = { point, options: f[5]!.split(",") };
  }
  return (best?.options ?? []).filter((o) => o === "ro" || o === "nosuid" || o === "nodev" || o === "noexec");
}

function bindMounts(target: string, source: string, recursive: boolean, readonly: boolean, kind: "dir" | "file"): Mount[] {
  let keep: string[];
  try {
    keep = sourceRestrictions(realpathSync(source));
  } catch (err) {
    throw new BoxError(`cannot bind ${source}: ${describeSystemError(err, false)}`);
  }
  const flags = [...new Set(["bind", "nodev", ...(readonly ? ["ro"] : []), ...keep])];
  return [
    { destination: target, type: "bind", source, options: [recursive ? "rbind" : "bind"], mountpoint: kind, parents: true },
    { destination: target, type: "remount", source: "", options: flags, mountpoint: kind },
  ];
}

async function volumeMounts(layout: Layout, id: string, m: { name?: string; target: string; readonly: boolean; noCopy: boolean; labels?: Record<string, string> }, image?: MountImage): Promise<{ mounts: Mount[]; anonymous?: string }> {
  const name = m.name ?? anonymousName(id, m.target);
  await withVolumeLock(layout, name, async () => {
    ensureVolume(layout, name, { labels: m.labels, anonymous: m.name === undefined });
    if (!m.noCopy && image) await asSentence(() => fillVolume(layout, name, [image.upper, ...image.layers], m.target), `cannot fill volume ${name} from the image`);
  });
  return { mounts: bindMounts(m.target, volumeData(layout, name), false, m.readonly, "dir"), ...(m.name === undefined ? { anonymous: volumePath(layout, name) } : {}) };
}

/** The spec mounts of a container's -v, --mount, --tmpfs and its image's VOLUMEs, shallowest target first. */
export async function prepareMounts(layout: Layout, r: ContainerRecord, req: RunRequest, image?: MountImage): Promise<PreparedMounts> {
  const asked = req.mounts ?? [];
  const wanted: MountRequest[] = [...asked];
  for (const path of image?.volumes ?? []) {
    let target: string;
    try {
      target = checkTarget(path, `VOLUME ${path}`);
    } catch {
      continue; // an image's VOLUME box cannot mount (/proc...): as if it were not there
    }
    if (!wanted.some((m) => m.target === target)) wanted.push({ type: "volume", target, readonly: false, noCopy: false, mode: "" });
  }
  const depth = (m: MountRequest) => m.target.split("/").length;
  const out: PreparedMounts = { mounts: [], anonymous: [] };
  for (const m of [...wanted].sort((a, b) => depth(a) - depth(b))) {
    if (m.type === "tmpfs") {
      out.mounts.push({ destination: m.target, type: "tmpfs", source: "tmpfs", options: m.options, mountpoint: "dir", parents: true });
    } else if (m.type === "volume") {
      const v = await volumeMounts(layout, r.id, m, image);
      out.mounts.push(...v.mounts);
      if (v.anonymous) out.anonymous.push(v.anonymous);
    } else {
      if (!existsSync(m.source)) {
        if (!m.create) throw new BoxError(`bind source path does not exist: ${m.source}`);
        try {
          mkdirSync(m.source, { recursive: true, mode: 0o755 });
        } catch (err) {
          throw new BoxError(`cannot create the bind source ${m.source}: ${describeSystemError(err, false)}`);
        }
      }
      out.mounts.push(...bindMounts(m.target, m.source, m.recursive, m.readonly, statSync(m.source).isDirectory() ? "dir" : "file"));
    }
  }
  return out;
}

/** docker inspect's Mounts of a container: what it asked for, and its image's VOLUMEs once started. */
export function inspectMounts(layout: Layout, r: ContainerRecord): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const asked = r.request?.mounts ?? [];
  for (const m of asked) {
    if (m.type === "bind") out.push({ Type: "bind", Source: m.source, Destination: m.target, Mode: m.mode, RW: !m.readonly, Propagation: "rprivate" });
    else if (m.type === "tmpfs") out.push({ Type: "tmpfs", Source: "", Destination: m.target, Mode: "", RW: !m.options.includes("ro"), Propagation: "" });
    else {
      const name = m.name ?? anonymousName(r.id, m.target);
      out.push({ Type: "volume", Name: name, Source: volumeData(layout, name), Destination: m.target, Driver: "local", Mode: m.mode, RW: !m.readonly, Propagation: "" });
    }
  }
  for (const s of readSpec(layout, r)?.mounts ?? []) {
    if (s.type !== "bind" || asked.some((m) => m.target === s.destination)) continue;
    const name = /\/volumes\/([^/]+)\/_data$/.exec(s.source)?.[1];
    if (name && s.source === volumeData(layout, name)) out.push({ Type: "volume", Name: name, Source: s.source, Destination: s.destination, Driver: "local", Mode: "", RW: true, Propagation: "" });
  }
  return out;
}

/** Where a container's binds and volumes come from (for a stopped container's files, as it saw them). */
export function mountSources(layout: Layout, r: ContainerRecord): Array<{ target: string; source: string }> {
  return inspectMounts(layout, r).filter((m) => m.Type !== "tmpfs").map((m) => ({ target: m.Destination as string, source: m.Source as string }));
}

/** The names of a container's anonymous volumes (-v /path, its image's VOLUMEs): rm -v removes them. */
export function anonymousVolumes(layout: Layout, r: ContainerRecord): string[] {
  const named = new Set((r.request?.mounts ?? []).flatMap((m) => (m.type === "volume" && m.name ? [m.name] : [])));
  return inspectMounts(layout, r).flatMap((m) => (m.Type === "volume" && !named.has(m.Name as string) ? [m.Name as string] : []));
}

/** The same, for the collector: without waiting (a volume whose lock is held is left for later). */
export function removeAnonymousVolumesNow(layout: Layout, r: ContainerRecord): void {
  for (const name of anonymousVolumes(layout, r)) {
    const lock = tryVolumeLock(layout, name);
    if (!lock) continue;
    try {
      if (volumeUsers(layout, name).length === 0) removeVolume(layout, name);
    } finally {
      lock.release();
    }
  }
}

/** Removes a removed container's anonymous volumes that no other container uses. */
export async function removeAnonymousVolumes(layout: Layout, r: ContainerRecord): Promise<void> {
  for (const name of anonymousVolumes(layout, r)) {
    await withVolumeLock(layout, name, () => {
      if (volumeUsers(layout, name).length === 0) removeVolume(layout, name);
    });
  }
}
