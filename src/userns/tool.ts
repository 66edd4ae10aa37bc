/**
 * Work done as root of a user namespace that maps the user's ids, the same way every container of
 * the user's is mapped (./ids.ts): box's unpacker, so an image's files get the owners they have in
 * containers, and removals of trees whose files belong to those ids (a container's upper layer, an
 * image's layer), which the user could not remove as itself. The helper makes the namespace
 * (helper/userns.c, a plan of mode userns_tool); box runs inside it as a child of the helper.
 */
import { BoxError } from "../errors";
import { runHelper, spawnHelper, type ToolStdio } from "../helper";
import { encodePlan, idMapRecords, type PlanRecord } from "../spec/plan";
import type { IdMapping } from "./ids";

/** How to run this very box again: the compiled executable alone, or bun with box's entry. */
export function selfArgv(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

export interface NamespaceWork {
  /** Trees removed first (never following a link, never crossing a mount: helper/cleanup.c). */
  remove?: string[];
  /** Then a program (an absolute path) and its environment. */
  argv?: string[];
  env?: string[];
}

export function namespacePlan(m: IdMapping, work: NamespaceWork): Uint8Array {
  const r: PlanRecord[] = [["userns_tool"], ...idMapRecords(m)];
  for (const path of work.remove ?? []) r.push(["cleanup", path]);
  if (work.argv) r.push(["argv", ...work.argv] as PlanRecord, ["env", ...(work.env ?? [])]);
  return encodePlan(r);
}

/** Starts the work; its stdin and stdout as asked, stderr box's own. */
export function startInNamespace(m: IdMapping, work: NamespaceWork, stdio: ToolStdio = {}) {
  return spawnHelper(namespacePlan(m, work), stdio);
}

/** Removes trees as root of the user's namespace; a failure is one sentence (the helper's, above). */
export function removeInNamespace(m: IdMapping, paths: readonly string[]): void {
  if (paths.length === 0) return;
  const code = runHelper(namespacePlan(m, { remove: [...paths] }));
  if (code !== 0) throw new BoxError(`cannot remove ${paths.join(", ")} as root of your user namespace (status ${code})`);
}
