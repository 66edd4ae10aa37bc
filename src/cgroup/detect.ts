import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * How this host's cgroups are laid out, read once from /proc/self/mountinfo and /proc/self/cgroup:
 *   v2      one unified hierarchy (current distributions)
 *   hybrid  v1 hierarchies for the controllers, plus an empty cgroup2 mount (this build machine)
 *   v1      v1 hierarchies only
 * For each controller box uses: where its hierarchy is mounted and box's own cgroup in it, under
 * which box nests its containers (so a delegated subtree is respected).
 */
export type CgroupMode = "v1" | "hybrid" | "v2";

export interface Hierarchy {
  /** Mount point of the hierarchy. */
  mount: string;
  /** box's own cgroup in it, relative to the mount ("/" at the root). */
  own: string;
}

export interface CgroupHost {
  mode: CgroupMode;
  /** v2: the unified hierarchy. */
  unified?: Hierarchy;
  /** v1: one hierarchy per controller name (cpu and cpuacct may share one). */
  v1: Record<string, Hierarchy>;
  /** Controllers that can be used: v1 mounted ones, or v2 ones listed in cgroup.controllers. */
  controllers: string[];
}

interface MountLine {
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

export function parseMountinfo(text: string): MountLine[] {
  return text.split("\n").filter(Boolean).map((line) => {
    const [left, right = ""] = line.split(" - ");
    const fields = left!.split(" ");
    const [fsType = "", , superOpts = ""] = right.split(" ");
    return { mountPoint: fields[4]!.replace(/\\040/g, " "), fsType, superOptions: superOpts.split(",") };
  });
}

/** /proc/self/cgroup: hierarchy id 0 is v2 ("0::/path"); others list their controllers. */
export function parseProcCgroup(text: string): { v2?: string; v1: Record<string, string> } {
  const out: { v2?: string; v1: Record<string, string> } = { v1: {} };
  for (const line of text.split("\n").filter(Boolean)) {
    const [id, ctrls = "", ...rest] = line.split(":");
    const path = rest.join(":");
    if (id === "0" && ctrls === "") out.v2 = path;
    else for (const c of ctrls.split(",")) if (c) out.v1[c] = path;
  }
  return out;
}

const V1_CONTROLLERS = ["pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer"];

export function detectFrom(mountinfo: string, procCgroup: string, readControllers: (dir: string) => string): CgroupHost {
  const mounts = parseMountinfo(mountinfo);
  const own = parseProcCgroup(procCgroup);
  const v1: Record<string, Hierarchy> = {};
  for (const m of mounts.filter((x) => x.fsType === "cgroup")) {
    for (const c of m.superOptions.filter((o) => V1_CONTROLLERS.includes(o))) {
      v1[c] ??= { mount: m.mountPoint, own: own.v1[c] ?? "/" };
    }
  }
  const v2mount = mounts.find((x) => x.fsType === "cgroup2");
  const unified = v2mount ? { mount: v2mount.mountPoint, own: own.v2 ?? "/" } : undefined;
  if (Object.keys(v1).length > 0) {
    return { mode: unified ? "hybrid" : "v1", unified, v1, controllers: Object.keys(v1) };
  }
  if (unified) {
    const controllers = readControllers(join(unified.mount, unified.own)).trim().split(/\s+/).filter(Boolean);
    return { mode: "v2", unified, v1: {}, controllers };
  }
  return { mode: "v1", v1: {}, controllers: [] };
}

export function detect(): CgroupHost {
  return detectFrom(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8"), (dir) => {
    const file = join(dir, "cgroup.controllers");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  });
}
