/**
 * <lib>/containers/<id>/spec.json: the spec of a container's last start, beside its record rather
 * than inside it. The spec is most of what a container's state weighs (its mounts and its compiled
 * seccomp program: about 16 of 21 kB), and only exec, inspect and volume use need it; `box ps` reads
 * every record, so records stay small. Records written before this file carry the spec inline
 * (ContainerRecord.spec), still read.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/types";
import { Invalid, parseJson } from "../validate";
import { writeFileAtomic } from "./atomic";
import { checkSpec } from "./container-spec-check";
import { containerDir, DamagedRecord, type ContainerRecord } from "./containers";
import type { Layout } from "./layout";

/** The largest spec.json read: a spec is tens of kB; anything far larger is not one of box's. */
const MAX_SPEC = 4 << 20;

export const specPath = (layout: Layout, id: string) => join(containerDir(layout, id), "spec.json");

/** Written before the record that says the container started, so a started record has its spec. */
export function writeSpec(layout: Layout, r: ContainerRecord, spec: Spec): void {
  writeFileAtomic(specPath(layout, r.id), JSON.stringify(spec) + "\n", 0o600, !r.autoRemove);
}

/** The spec of its last start; undefined for a container never started; DamagedRecord when unusable. */
export function readSpec(layout: Layout, r: ContainerRecord): Spec | undefined {
  const path = specPath(layout, r.id);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return r.spec;
    throw new DamagedRecord(r.id, path, `cannot be read (${code})`);
  }
  try {
    if (text.length > MAX_SPEC) throw new Invalid(`larger than ${MAX_SPEC} bytes`);
    return parseJson(text, checkSpec);
  } catch (err) {
    if (err instanceof Invalid) throw new DamagedRecord(r.id, path, err.message);
    throw err;
  }
}
