/**
 * Containers on disk, as records:
 *   <lib>/containers/<id>/config.json   what it is (the request, how it last started), small: ps reads
 *                                       every one
 *   <lib>/containers/<id>/spec.json     the spec of its last start, for exec and inspect
 *                                       (src/store/container-spec.ts)
 *   <lib>/containers/<id>/lock          held (an open file lock) by whoever makes it, then by its
 *                                       supervisor for as long as it runs: free means not running
 *   <lib>/containers/<id>/exit          "status oom-killed finished-ms", written by its supervisor
 *   <lib>/containers/<id>/log           output of a detached container (and log.1, the older part)
 *   <lib>/containers/<id>/stopped       empty; box stop or box kill ended it (restart policies keep it stopped)
 *   <lib>/containers/<id>/upper, work   its overlay layer
 *   <run>/<id>.pid                      "supervisor-pid supervisor-start init-pid" while it runs
 *   <run>/<id>.attach                   its supervisor's console socket (box attach), while it runs
 *   <lib>/names/<name>                  its name, holding the id
 *   <lib>/active/<id>                   present from its start until what it held is given back
 * A container directory appears by one rename of a complete scratch directory holding its record
 * and its lock, so a container is findable (and removable) from the moment anything of it exists.
 * Every file is validated when read: a damaged one is named, and never stops other containers.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import type { PortsRecord } from "../net/setup";
import { checkRequest, type RunRequest } from "../spec/request";
import { checkSpec } from "./container-spec-check";
import type { Spec } from "../spec/types";
import { anyObject, arr, bool, Invalid, obj, opt, parseJson, pattern, str, type Check } from "../validate";
import { writeFileAtomic } from "./atomic";
import { isScratch, listDir } from "./dirs";
import { randomHex, shortId } from "./ids";
import { Lock } from "./lock";
import type { Layout } from "./layout";

export interface ContainerRecord {
  id: string;
  name?: string;
  created: string;
  /** The image as a person names it (ps), and its id in the store (none for a --rootfs directory). */
  image: string;
  imageId?: string;
  /** The command: the image's ENTRYPOINT and CMD with the command line applied. */
  argv: string[];
  /** The signal `box stop` sends first (the image's StopSignal; SIGTERM when none). */
  stopSignal?: string;
  /** What was asked for (absent in records of box before 0.2: those cannot be started again). */
  request?: RunRequest;
  /** When it was last started; absent for a container that was created and never started. */
  startedAt?: string;
  /** Its cgroup directories on the host, while it runs. */
  cgroups: string[];
  detached: boolean;
  autoRemove: boolean;
  ports?: PortsRecord;
  /** The spec of its last start, only in records written before spec.json (readSpec). */
  spec?: Spec;
}

const ID = /^[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

// Made once, not per record: box ps checks every record of the store.
const checkFields = obj<ContainerRecord & { imageDigest?: string }>({
  id: pattern(ID, "a container id"),
  name: opt(str),
  created: pattern(ISO, "a time"),
  image: str,
  imageId: opt(str),
  imageDigest: opt(str),
  argv: arr(str),
  stopSignal: opt(pattern(/^(SIG)?[A-Z0-9+-]{1,16}$/i, "a signal")),
  request: opt(checkRequest),
  startedAt: opt(pattern(ISO, "a time")),
  cgroups: arr(pattern(/^\/sys\/fs\/cgroup\//, "a cgroup directory")),
  detached: bool,
  autoRemove: bool,
  ports: opt(anyObject) as unknown as Check<PortsRecord | undefined>,
  spec: opt(checkSpec),
});

const checkRecord: Check<ContainerRecord> = (v, at) => {
  const r = checkFields(v, at);
  // Records of box 0.1 name the image's store id imageDigest and were started when made.
  if (r.imageDigest && !r.imageId) r.imageId = r.imageDigest;
  delete r.imageDigest;
  if (!r.request && !r.startedAt && r.spec) r.startedAt = r.created;
  return r;
};

export function containerDir(layout: Layout, id: string): string {
  return join(layout.containers, id);
}
export const recordPath = (layout: Layout, id: string) => join(containerDir(layout, id), "config.json");
export const lockPath = (layout: Layout, id: string) => join(containerDir(layout, id), "lock");
export const exitPath = (layout: Layout, id: string) => join(containerDir(layout, id), "exit");
export const logPath = (layout: Layout, id: string) => join(containerDir(layout, id), "log");
/** Present while a container was stopped by box stop or box kill: a restart policy leaves it stopped. */
export const stoppedPath = (layout: Layout, id: string) => join(containerDir(layout, id), "stopped");
export const pidPath = (layout: Layout, id: string) => join(layout.run, `${id}.pid`);
/** The unix socket a running container's supervisor offers its console on (box attach). */
export const attachPath = (layout: Layout, id: string) => join(layout.run, `${id}.attach`);
export const namePath = (layout: Layout, name: string) => join(layout.names, name);
export const activePath = (layout: Layout, id: string) => join(layout.active, id);

/** A container whose record cannot be used: named, so a person can remove it (box rm -f). */
export class DamagedRecord extends BoxError {
  constructor(readonly id: string, readonly path: string, readonly reason: string) {
    super(`container ${shortId(id)} is damaged: ${path} ${reason.replace(/^(it )?/, "")}; box rm -f ${shortId(id)} removes it`);
  }
}

/** The record of a container; DamagedRecord when it exists but cannot be used. */
export function readRecord(layout: Layout, id: string): ContainerRecord {
  const path = recordPath(layout, id);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new DamagedRecord(id, path, "is missing");
    throw new DamagedRecord(id, path, `cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const r = parseJson(text, checkRecord);
    if (r.id !== id) throw new Invalid(`it belongs to another container (${shortId(r.id)})`);
    return r;
  } catch (err) {
    if (err instanceof Invalid) throw new DamagedRecord(id, path, err.message);
    throw err;
  }
}

/** Atomic always; fsync'd only for a container that is kept: an ephemeral one is gone after a crash
 * anyway, and the fsync would be most of what its start costs on some disks. */
export function writeRecord(layout: Layout, r: ContainerRecord, dir = containerDir(layout, r.id)): void {
  // 0600: a --userns=auto container's directory is searchable by its ids (src/container/namespaces.ts),
  // and the record holds its environment. The spec has a file of its own (writeSpec).
  const { spec: _, ...record } = r;
  writeFileAtomic(join(dir, "config.json"), JSON.stringify(record, null, 2) + "\n", 0o600, !r.autoRemove);
}

/** Marks a container as started: from now on, a collector gives back what it holds once it ends. */
export function markActive(layout: Layout, id: string): void {
  closeSync(openSync(activePath(layout, id), "w", 0o644)); // empty: its creation is the whole write
}

/** The containers marked as started and not yet given back. */
export function activeIds(layout: Layout): string[] {
  return listDir(layout.active).filter((e) => ID.test(e));
}

/** The ids of every container directory (scratch directories of containers being made excluded). */
export function containerIds(layout: Layout): string[] {
  return listDir(layout.containers).filter((e) => ID.test(e));
}

export type Listed = { id: string; record: ContainerRecord } | { id: string; damaged: DamagedRecord };

/** Every container, newest first; damaged ones are listed as such (a caller names and skips them). */
export function listContainers(layout: Layout): Listed[] {
  const out: Listed[] = containerIds(layout).map((id) => {
    try {
      return { id, record: readRecord(layout, id) };
    } catch (err) {
      if (err instanceof DamagedRecord) return { id, damaged: err };
      throw err;
    }
  });
  const time = (l: Listed) => ("record" in l ? l.record.created : "");
  return out.sort((a, b) => time(b).localeCompare(time(a)));
}

const NAME_FILE = /^[0-9a-f]{64}\n?$/;

/** The id a name file points at, when it is intact. */
export function nameHolder(layout: Layout, name: string): string | undefined {
  try {
    const text = readFileSync(namePath(layout, name), "utf8");
    return NAME_FILE.test(text) ? text.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A container's id by name, full id, or unique id prefix, as docker resolves them. An ambiguous
 * prefix is an error naming the candidates.
 */
export function resolveId(layout: Layout, word: string): string {
  const byName = !isScratch(word) && !word.includes("/") ? nameHolder(layout, word) : undefined;
  if (byName && existsSync(containerDir(layout, byName))) return byName;
  // A whole id needs no listing: with a thousand containers that is most of what exec costs.
  if (ID.test(word) && existsSync(containerDir(layout, word))) return word;
  if (/^[0-9a-f]+$/.test(word)) {
    const matches = containerIds(layout).filter((id) => id.startsWith(word));
    if (matches.length > 1) {
      throw new BoxError(`the container prefix "${word}" is ambiguous: it matches ${matches.map(shortId).join(", ")}`);
    }
    if (matches[0]) return matches[0];
  }
  throw new BoxError(`no such container: ${word}`);
}

/** The record of the container a word names (DamagedRecord when it cannot be used). */
export function resolveContainer(layout: Layout, word: string): ContainerRecord {
  return readRecord(layout, resolveId(layout, word));
}

/**
 * Claims a name for a container. The name file is linked into place complete, so it is never seen
 * empty, and of two runs racing for one name exactly one wins. A name stays taken until its
 * container is removed; a name whose container is gone (box was killed while making it), or whose
 * file is damaged, is taken back.
 */
export function claimName(layout: Layout, name: string, id: string): void {
  const tmp = join(layout.tmp, `name-${process.pid}-${randomHex(6)}`);
  writeFileAtomic(tmp, id + "\n", 0o644, false);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, namePath(layout, name));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = nameHolder(layout, name);
      if (holder && existsSync(containerDir(layout, holder))) {
        throw new BoxError(
          `the container name "${name}" is already in use by container ${shortId(holder)}: remove that container or choose another name`,
        );
      }
      releaseName(layout, name, holder);
    }
    throw new BoxError(`the container name "${name}" is already in use`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}

/**
 * Gives a name back, only when it still points at holder (undefined: a damaged or empty file).
 * Every removal of a name file happens under one lock and after this check, and a name file is only
 * ever created where none is, so a name just claimed by another box is never removed by mistake.
 */
export function releaseName(layout: Layout, name: string, holder: string | undefined): void {
  const lock = Lock.takeSync(join(layout.locks, "names.lock"), "the container names");
  try {
    if (nameHolder(layout, name) !== holder) return;
    if (holder === undefined && !existsSync(namePath(layout, name))) return;
    unlinkSync(namePath(layout, name));
  } catch {
    /* released meanwhile */
  } finally {
    lock.release();
  }
}

/** Names pointing at a container (normally one; a damaged record does not say which). */
export function namesOf(layout: Layout, id: string): string[] {
  return listDir(layout.names).filter((n) => !isScratch(n) && nameHolder(layout, n) === id);
}

export function ensureDirs(layout: Layout): void {
  for (const dir of [layout.lib, layout.run, layout.images, layout.containers, layout.names, layout.refs, layout.locks, layout.tmp, layout.active]) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}
