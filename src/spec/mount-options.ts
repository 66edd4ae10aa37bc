/**
 * --tmpfs, --shm-size, and run's data options together (-v, --mount, --tmpfs, --read-only,
 * --shm-size), checked before anything is made (./mounts.ts has the rules of each mount).
 */
import { existsSync } from "node:fs";
import { BoxError } from "../errors";
import { checkTarget, parseMountFlag, parseSize, parseVolumeFlag, type MountRequest, type TmpfsRequest } from "./mounts";

const TMPFS_FLAGS = new Set(["rw", "ro", "exec", "noexec", "suid", "nosuid", "nodev", "strictatime", "relatime"]);
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmg%]?$/i,
  nr_inodes: /^\d+[kmg]?$/i,
  nr_blocks: /^\d+[kmg]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d{1,10}$/,
  gid: /^\d{1,10}$/,
  huge: /^(never|always|within_size|advise)$/,
};

/** --tmpfs PATH[:OPTIONS]: docker's defaults (noexec, nosuid, nodev), then the options in order. */
export function parseTmpfsFlag(spec: string): TmpfsRequest {
  const colon = spec.indexOf(":");
  const target = checkTarget(colon < 0 ? spec : spec.slice(0, colon), spec);
  const flags = new Set(["nosuid", "nodev", "noexec"]);
  const data = new Map<string, string>();
  for (const opt of colon < 0 ? [] : spec.slice(colon + 1).split(",").filter(Boolean)) {
    const eq = opt.indexOf("=");
    if (eq >= 0) {
      const key = opt.slice(0, eq), value = opt.slice(eq + 1);
      if (!TMPFS_DATA[key]?.test(value)) throw new BoxError(`invalid --tmpfs "${spec}": ${TMPFS_DATA[key] ? `"${value}" is not a valid ${key}` : `unknown option "${key}"`}`);
      data.set(key, value);
    } else if (opt === "dev") {
      throw new BoxError(`invalid --tmpfs "${spec}": box mounts every tmpfs nodev (a device node made in it could open a host disk)`);
    } else if (!TMPFS_FLAGS.has(opt)) {
      throw new BoxError(`invalid --tmpfs "${spec}": unknown option "${opt}"`);
    } else if (opt === "exec" || opt === "suid") {
      flags.delete(`no${opt}`);
    } else if (opt === "rw") {
      flags.delete("ro");
    } else {
      flags.add(opt);
    }
  }
  return { type: "tmpfs", target, options: [...flags, ...[...data].map(([k, v]) => `${k}=${v}`)] };
}

/** Every mount of a container, the targets unique (docker: "Duplicate mount point"). */
export function checkMounts(mounts: MountRequest[]): MountRequest[] {
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) throw new BoxError(`duplicate mount point: ${m.target}`);
    seen.add(m.target);
  }
  return mounts;
}

/** --shm-size: the size of /dev/shm (docker's default 64 MiB). */
export function parseShmSize(v: string): number {
  return parseSize(v, "--shm-size");
}

/** run's data options together: -v, --mount, --tmpfs (in that order), --read-only, --shm-size. */
export function checkDataOptions(volumes: string[], mounts: string[], tmpfs: string[], readOnly: boolean, shmSize: string | undefined) {
  const all = checkMounts([...volumes.map(parseVolumeFlag), ...mounts.map(parseMountFlag), ...tmpfs.map(parseTmpfsFlag)]);
  for (const m of all) {
    // docker: --mount type=bind refuses a missing source (-v makes it, when the container starts).
    if (m.type === "bind" && !m.create && !existsSync(m.source)) throw new BoxError(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
  }
  return { mounts: all, readOnly, shmSize: shmSize === undefined ? undefined : parseShmSize(shmSize) };
}
