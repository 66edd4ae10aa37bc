/**
 * rename: a container's name changes; the new one is claimed first (so of two renames to one name
 * exactly one wins), then recorded, then the old one is given back. Under the container's lock when
 * it is not running, so no start reads the record half-way.
 */
import { BoxError } from "../errors";
import { claimName, lockPath, readRecord, releaseName, writeRecord, type ContainerRecord } from "../store/containers";
import { checkName } from "../store/ids";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { isBusy } from "./state";

export function renameContainer(layout: Layout, r: ContainerRecord, word: string, name: string): void {
  checkName(name);
  if (r.name === name) throw new BoxError(`renaming a container with the same name as its current name: ${name}`);
  const lock = Lock.try(lockPath(layout, r.id), false);
  try {
    const running = !lock && isBusy(layout, r.id);
    const current = lock ? readRecord(layout, r.id) : r;
    // A running --rm container's supervisor removes the name it started with when it ends: that
    // name may be someone else's by then.
    if (running && current.autoRemove) throw new BoxError(`container ${word} was started with --rm: rename it before it starts, or stop it first`);
    claimName(layout, name, r.id);
    try {
      writeRecord(layout, { ...current, name, ...(current.request ? { request: { ...current.request, name } } : {}) });
    } catch (err) {
      releaseName(layout, name, r.id);
      throw err;
    }
    if (current.name !== undefined) releaseName(layout, current.name, r.id);
  } finally {
    lock?.release();
  }
}
