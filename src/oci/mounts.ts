/**
 * config.json's mounts as plan records (helper/rootfs.c carries them out, every target opened
 * inside the root). Options are runc's: flags (ro, nosuid, nodev, noexec, sync, dirsync, noatime,
 * nodiratime, relatime, strictatime, lazytime, mand, and their opposites), bind and rbind, the
 * propagation of the mount ([r]shared, [r]slave, [r]private, [r]unbindable), and anything else is
 * the filesystem's data (mode=755, size=64k, newinstance). A bind takes its flags in a second,
 * remounting call, and its propagation in a third, as the kernel wants.
 *
 * Propagation applies inside the container: its first process makes the whole mount tree private
 * before it mounts anything (helper/container.c, step 4), so no mount crosses between the
 * container and the host, whatever the options say.
 */
import { statSync } from "node:fs";
import { BoxError } from "../errors";
import type { PlanRecord } from "../spec/plan";
import type { OciMount } from "./config";

export const MS = {
  rdonly: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8, synchronous: 0x10, remount: 0x20, mandlock: 0x40,
  dirsync: 0x80, noatime: 0x400, nodiratime: 0x800, bind: 0x1000, rec: 0x4000, unbindable: 0x20000,
  private: 0x40000, slave: 0x80000, shared: 0x100000, relatime: 0x200000, strictatime: 0x1000000, lazytime: 0x2000000,
} as const;

/** Options that set (or, with clear, clear) a flag. */
const FLAGS: Record<string, { flag: number; clear?: boolean }> = {
  ro: { flag: MS.rdonly }, rw: { flag: MS.rdonly, clear: true },
  nosuid: { flag: MS.nosuid }, suid: { flag: MS.nosuid, clear: true },
  nodev: { flag: MS.nodev }, dev: { flag: MS.nodev, clear: true },
  noexec: { flag: MS.noexec }, exec: { flag: MS.noexec, clear: true },
  sync: { flag: MS.synchronous }, async: { flag: MS.synchronous, clear: true },
  dirsync: { flag: MS.dirsync },
  mand: { flag: MS.mandlock }, nomand: { flag: MS.mandlock, clear: true },
  noatime: { flag: MS.noatime }, atime: { flag: MS.noatime, clear: true },
  nodiratime: { flag: MS.nodiratime }, diratime: { flag: MS.nodiratime, clear: true },
  relatime: { flag: MS.relatime }, norelatime: { flag: MS.relatime, clear: true },
  strictatime: { flag: MS.strictatime }, nostrictatime: { flag: MS.strictatime, clear: true },
  lazytime: { flag: MS.lazytime }, nolazytime: { flag: MS.lazytime, clear: true },
  remount: { flag: MS.remount },
};

export const PROPAGATION: Record<string, number> = {
  private: MS.private, rprivate: MS.private | MS.rec, shared: MS.shared, rshared: MS.shared | MS.rec,
  slave: MS.slave, rslave: MS.slave | MS.rec, unbindable: MS.unbindable, runbindable: MS.unbindable | MS.rec,
};

/** Options runc and crun know that box does not do: refused by name rather than passed on as data. */
const REFUSED: Record<string, string> = {
  "copy-symlink": "box does not copy symlinks into mounts",
  idmap: "box does not make idmapped mounts",
  ridmap: "box does not make idmapped mounts",
};
for (const o of ["rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow"]) {
  REFUSED[o] = "box does not set recursive mount attributes (mount_setattr)";
}

export interface MountOptions {
  /** tmpcopyup: the directory's contents copied into the new tmpfs (helper/copyup.c). */
  copyup: boolean;
  flags: number;
  propagation: number[];
  bind: boolean;
  recursive: boolean;
  data: string;
}

export function mountOptions(options: readonly string[], at: string): MountOptions {
  const out: MountOptions = { copyup: false, flags: 0, propagation: [], bind: false, recursive: false, data: "" };
  const data: string[] = [];
  for (const o of options) {
    if (o in REFUSED) throw new BoxError(`config.json: ${at}: the option ${o} is not supported by box: ${REFUSED[o]}`, 1);
    if (o === "tmpcopyup" || o === "notmpcopyup") {
      out.copyup = o === "tmpcopyup";
    } else if (o === "bind" || o === "rbind") {
      out.bind = true;
      out.recursive ||= o === "rbind";
    } else if (o in PROPAGATION) {
      out.propagation.push(PROPAGATION[o]!);
    } else if (o in FLAGS) {
      const f = FLAGS[o]!;
      out.flags = f.clear ? out.flags & ~f.flag : out.flags | f.flag;
    } else {
      if (o.includes(",")) throw new BoxError(`config.json: ${at}: the option "${o}" holds a comma: give one option per entry`, 1);
      data.push(o);
    }
  }
  out.data = data.join(",");
  return out;
}

/** mkdir -p inside the root, one record per component, each checked inside the root by the helper. */
export function mkdirs(path: string, seen: Set<string>): PlanRecord[] {
  const parts = path.split("/").filter(Boolean);
  const out: PlanRecord[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = "/" + parts.slice(0, i + 1).join("/");
    if (!seen.has(p)) out.push(["mkdir", p, "755"]);
    seen.add(p);
  }
  return out;
}

function parent(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** A bind of a file needs a file to mount on; of anything else, a directory. */
function bindsFile(source: string, at: string): boolean {
  try {
    return !statSync(source).isDirectory();
  } catch {
    throw new BoxError(`config.json: ${at}.source ${source} does not exist`, 1);
  }
}

/** The records for one mount of config.json (cgroup mounts: cgroups.ts). */
export function mountRecords(m: OciMount, at: string, bundle: string, seen: Set<string>): PlanRecord[] {
  const o = mountOptions(m.options ?? [], at);
  const type = m.type ?? (o.bind ? "bind" : "");
  const bind = o.bind || type === "bind" || type === "rbind";
  if (!bind && !type) throw new BoxError(`config.json: ${at} has no type and is not a bind mount`, 1);
  let source = m.source ?? "";
  if (bind && !source.startsWith("/")) source = `${bundle}/${source}`;
  const r: PlanRecord[] = [];
  const dest = m.destination;
  if (bind && bindsFile(source, at)) r.push(...mkdirs(parent(dest), seen), ["file", dest, "644"]);
  else r.push(...mkdirs(dest, seen));
  if (bind) {
    r.push(["mount", source, dest, "", String(MS.bind | (o.recursive || type === "rbind" ? MS.rec : 0)), ""]);
    // The flags of a bind take a remount (they apply to this mount, not to those below it).
    const flags = o.flags & ~MS.remount;
    if (flags !== 0) r.push(["mount", "", dest, "", String(MS.bind | MS.remount | flags), ""]);
  } else {
    if (o.copyup && type !== "tmpfs") throw new BoxError(`config.json: ${at}: tmpcopyup is for tmpfs mounts, not ${type}`, 1);
    r.push([o.copyup ? "mount_copyup" : "mount", source || type, dest, type, String(o.flags), o.data]);
  }
  for (const p of o.propagation) r.push(["mount", "", dest, "", String(p), ""]);
  return r;
}
