/**
 * pause and resume: the cgroup freezer. On v1 the state goes FREEZING, then FROZEN once every
 * process has stopped; box waits for that (1 s at most, then says so). On v2, cgroup.freeze, and
 * cgroup.events' "frozen 1".
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { freezerDir } from "./resources";
import type { Saved } from "./state";

function frozenNow(dir: string, file: string): boolean {
  try {
    if (file === "cgroup.freeze") return /^frozen 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));
    return readFileSync(join(dir, file), "utf8").trim() === "FROZEN";
  } catch {
    return false;
  }
}

export async function setFrozen(s: Saved, frozen: boolean): Promise<void> {
  const { dir, file } = freezerDir(s.host, s.cgroups);
  const value = file === "cgroup.freeze" ? (frozen ? "1" : "0") : frozen ? "FROZEN" : "THAWED";
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    throw new BoxError(`cannot ${frozen ? "freeze" : "thaw"} the container: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
  }
  if (!frozen) return;
  for (const end = Date.now() + 1000; !frozenNow(dir, file); await Bun.sleep(5)) {
    if (Date.now() > end) {
      writeFileSync(join(dir, file), file === "cgroup.freeze" ? "0" : "THAWED");
      throw new BoxError("the container's processes did not all freeze within 1 s: thawed again", 1);
    }
    if (file === "freezer.state") writeFileSync(join(dir, file), "FROZEN");
  }
}
