/**
 * cgroups for a rootless container: only where the host delegated a cgroup v2 subtree to the user
 * (systemd does for user@UID.service with Delegate=yes; an admin can chown one). cgroup v1
 * hierarchies, and v2 cgroups the user does not own, are root's: a limit asked for is then refused
 * with what to do, and a run without limits goes ahead without a cgroup (said once).
 *
 * The subtree: walking up from box's own cgroup, the highest cgroup whose directory, cgroup.procs and
 * cgroup.subtree_control this user may write (moving a process between two cgroups needs write
 * access to their common ancestor's cgroup.procs, so that is where containers go: below it, as
 * box/<id>). Its cgroup.controllers say which limits there can be.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Limits } from "./limits";
import type { CgroupHost } from "./detect";

export type Delegation = { ok: true; host: CgroupHost } | { ok: false; why: string };

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function delegatedHost(host: CgroupHost, canWrite: (path: string) => boolean = writable, read = (p: string) => readFileSync(p, "utf8")): Delegation {
  if (host.mode !== "v2" || !host.unified) {
    return { ok: false, why: `this host's controllers are cgroup v1 hierarchies (${host.mode === "hybrid" ? "a hybrid layout" : "cgroup v1"}), which only root may use` };
  }
  const { mount, own } = host.unified;
  const parts = own.split("/").filter(Boolean);
  let top: string | undefined;
  for (let i = parts.length; i >= 0; i--) {
    const dir = join(mount, ...parts.slice(0, i));
    if (!canWrite(dir) || !canWrite(join(dir, "cgroup.procs")) || !canWrite(join(dir, "cgroup.subtree_control"))) break;
    top = "/" + parts.slice(0, i).join("/");
  }
  if (top === undefined) return { ok: false, why: `no cgroup v2 subtree is delegated to you (box runs in ${own}, which is not yours)` };
  let controllers: string[] = [];
  try {
    controllers = read(join(mount, top, "cgroup.controllers")).trim().split(/\s+/).filter(Boolean);
  } catch {
    /* none */
  }
  return { ok: true, host: { ...host, unified: { mount, own: top }, controllers } };
}

/** What a delegation takes: said with the refusal. */
export const HOW_TO_DELEGATE =
  "on cgroup v2, run box in a delegated subtree (systemd: systemd-run --user --scope -p Delegate=yes box ...), or have an admin make one: mkdir /sys/fs/cgroup/NAME, chown it and its cgroup.procs, cgroup.subtree_control and cgroup.threads to you, enable the controllers in its parent's cgroup.subtree_control, and start box from a cgroup below it";

/** The limits a request names beyond the default pids limit. */
export function limitsAsked(l: Limits, defaultPids: number): string[] {
  const out: string[] = [];
  if (l.pids !== defaultPids && l.pids !== 0) out.push("--pids-limit");
  if (l.memory !== undefined || l.memorySwap !== undefined) out.push("--memory");
  if (l.cpus !== undefined) out.push("--cpus");
  if (l.cpuShares !== undefined || l.cpuWeight !== undefined) out.push("--cpu-shares");
  return out;
}
