/**
 * create: a container's directory (record and lock), its name and its root filesystem, ready to
 * start; nothing runs yet. `box run` is create + start; `box create` stops here.
 *
 *   1. the image, obtained first (a pull or an unpack needs no undo of the container's)
 *   2. the container's directory, made complete under a scratch name (record, lock held) and
 *      renamed into place: from then on it is findable, and its lock says someone is at work on it
 *   3. its name, claimed
 *   4. its root: overlay directories over the image, or a directory used in place
 * Each step pushes its undo onto the caller's Undo.
 */
import { lstatSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BoxError, EXIT } from "../errors";
import type { RunRequest } from "../spec/request";
import { activePath, claimName, containerDir, lockPath, markActive, releaseName, writeRecord, type ContainerRecord } from "../store/containers";
import { newId } from "../store/ids";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { trace } from "../trace";
import { claimGeneratedName, randomName } from "./names";
import type { Undo } from "./undo";

export interface Created {
  record: ContainerRecord;
  /** Held until the container's supervisor takes it over. */
  lock: Lock;
}

function checkRootfsDir(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new BoxError(`the root filesystem ${path} does not exist`);
  }
  if (!st.isDirectory()) throw new BoxError(`the root filesystem ${path} is not a directory`);
  return realpathSync(path);
}

/** The image, obtained (unpacked, pulled) as the pull policy says; its name, id, and the argv its
 * defaults and the command line give (ENTRYPOINT, CMD; /bin/sh when neither says anything). */
async function obtainImage(layout: Layout, req: RunRequest): Promise<{ name: string; imageId?: string; argv: string[]; stopSignal?: string }> {
  if (req.image.kind === "directory") {
    const path = checkRootfsDir(req.image.path);
    req.image = { kind: "directory", path };
    if (req.command.length === 0) {
      try {
        lstatSync(join(path, "bin/sh"));
      } catch {
        throw new BoxError(`the root filesystem ${path} has no /bin/sh to run: give a command`, EXIT.notFound);
      }
    }
    return { name: path, argv: req.command.length > 0 ? req.command : ["/bin/sh"] };
  }
  const { argvFor, imageForRun } = await import("../image/run");
  const image = await imageForRun(layout, req.image.word, req.pull, { orCommandIn: req.image.orCommandIn });
  const argv = argvFor(image.config, req.command, req.entrypoint);
  return { name: image.name, imageId: image.id, argv: argv.length > 0 ? argv : ["/bin/sh"], stopSignal: image.config.StopSignal };
}

export async function createContainer(layout: Layout, req: RunRequest, undo: Undo, opts: { starting: boolean }): Promise<Created> {
  // 1. The image.
  trace("container/create.ts:1", "image", { image: req.image.kind === "image" ? req.image.word : req.image.path });
  const image = await obtainImage(layout, req);

  // 2. The directory, complete before it has its real name.
  const id = newId();
  trace("container/create.ts:2", "directory", { id });
  const scratch = join(layout.containers, `.new-${process.pid}-${id}`);
  mkdirSync(scratch, { mode: 0o700 });
  undo.push(() => rmSync(scratch, { recursive: true, force: true }));
  const lock = Lock.try(join(scratch, "lock"))!;
  undo.push(() => lock.release());
  const now = new Date().toISOString();
  const record: ContainerRecord = {
    id,
    // Every container has a name: the one given, or one drawn (adjective_surname) and claimed below.
    name: req.name ?? randomName(),
    created: now,
    image: image.name,
    imageId: image.imageId,
    argv: image.argv,
    ...(image.stopSignal ? { stopSignal: image.stopSignal } : {}),
    request: req,
    // `box run` starts it at once: if box is killed before the helper takes over, the collector
    // knows it was meant to run (and removes it when ephemeral).
    startedAt: opts.starting ? now : undefined,
    cgroups: [],
    detached: req.detach,
    autoRemove: req.autoRemove,
  };
  writeRecord(layout, record, scratch);
  if (opts.starting) {
    markActive(layout, id);
    undo.push(() => rmSync(activePath(layout, id), { force: true }));
  }
  const dir = containerDir(layout, id);
  renameSync(scratch, dir);
  lock.path = lockPath(layout, id);
  undo.push(() => rmSync(dir, { recursive: true, force: true }));

  // 3. The name.
  if (req.name !== undefined) {
    trace("container/create.ts:3", "name", { name: req.name });
    claimName(layout, req.name, id);
  } else record.name = claimGeneratedName(layout, id, record.name!, (name) => writeRecord(layout, { ...record, name }));
  const name = record.name!;
  undo.push(() => releaseName(layout, name, id));

  // 4. The root's overlay directories (the image itself is never written).
  if (req.image.kind === "image") {
    for (const sub of ["upper", "work", "rootfs"]) mkdirSync(join(dir, sub), { mode: 0o755 });
  }
  return { record, lock };
}
