/**
 * exec: a new process in a running container, joining its namespaces, root and cgroups, with the
 * container's own capabilities, no_new_privs and seccomp, never more (helper/exec.c does the join).
 */
import { join } from "node:path";
import { BoxError } from "../errors";
import { encodePlan, execRecords } from "../spec/plan";
import { resolveUser } from "../spec/user";
import type { ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { shortId } from "../store/ids";
import { traceRecords } from "../trace";
import type { Spec } from "../spec/types";
import { checkMapped } from "./namespaces";
import { readRootFile, ROOT_FILE_CAP } from "./rootfiles";
import { live } from "./state";
import { readSpec } from "../store/container-spec";

export interface ExecRequest {
  command: string[];
  env: string[];
  workdir?: string;
  user?: string;
  tty: boolean;
  interactive: boolean;
}

export async function execInContainer(layout: Layout, r: ContainerRecord, word: string, req: ExecRequest): Promise<never> {
  const l = live(layout, r.id);
  const spec = readSpec(layout, r);
  if (!l || !spec) throw new BoxError(`container ${word} is not running`);
  // Users are looked up in the container's own root as it is now, through its init's view of it;
  // rootless, where that view is closed to the user (its init is not dumpable), through its layers.
  let user = req.user !== undefined ? resolveUser(req.user, await rootReader(layout, spec, l.init)) : undefined;
  if (user && layout.userns) user = checkMapped(layout.userns, user);
  if (!live(layout, r.id)) throw new BoxError(`container ${word} is not running`);
  // The container's environment, TERM when there is a terminal, HOME of another user, then -e.
  const env = new Map(spec.process.env.filter((e) => !e.startsWith("TERM=")).map((e) => [e.slice(0, e.indexOf("=")), e]));
  if (req.tty) env.set("TERM", "TERM=xterm");
  if (user) env.set("HOME", `HOME=${user.home}`);
  for (const e of req.env) env.set(e.slice(0, e.indexOf("=")), e);
  const proc = {
    ...spec.process,
    args: req.command,
    env: [...env.values()],
    cwd: req.workdir ?? spec.process.cwd,
    user: user ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } : spec.process.user,
    terminal: req.tty,
    stdin: req.interactive,
  };
  if (r.cgroups.length === 0 && !layout.userns) throw new BoxError(`container ${shortId(r.id)} has no cgroup recorded`);
  const records = execRecords(spec, proc, l.init, r.cgroups.map((d) => join(d, "cgroup.procs")), l.initStart);
  const traced = await traceRecords("container/exec.ts:1");
  const { becomeHelper } = await import("../helper");
  return becomeHelper(encodePlan([...records, ...traced]), layout);
}

async function rootReader(layout: Layout, spec: Spec, init: number): Promise<(path: string) => string | undefined> {
  const root = spec.box.rootfs;
  if (!layout.userns) return (path) => readRootFile(`/proc/${init}/root`, path);
  if (root.kind === "bind") return (path) => readRootFile(root.path, path);
  const { readImageFile } = await import("../image/rootfs");
  return (path) => readImageFile({ layers: [root.upper, ...root.lowers] }, path, ROOT_FILE_CAP)?.toString("utf8");
}
