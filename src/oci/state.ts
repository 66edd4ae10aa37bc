/**
 * The runc CLI's state: one directory per container under the root (--root, default /run/box-runc):
 *
 *   state.json   what create decided (bundle, annotations, cgroups, hooks left for start and
 *                delete, the process and seccomp filter exec starts from), written whole before
 *                the helper runs, checked when read
 *   pid          written by the helper once the container is held (or runs): "helper-pid
 *                helper-start pid start"; the last two name the container's process for good
 *   exec.fifo    while it exists, the container is created and held: start opens it and reads
 *   lock         taken by each command that changes the container (a kernel lock: never stale)
 *
 * Whether a container runs is never stored: it is read from its process (pid and start time, a
 * zombie counts as ended), the FIFO and the freezer.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { Lock } from "../store/lock";
import { processStart } from "../store/process";
import { writeFileAtomic } from "../store/atomic";
import { arr, bool, int, obj, oneOf, opt, str, anyObject, Invalid, type Check } from "../validate";
import { parseJsonExact, parseProcess, type OciHook, type OciProcess } from "./config";
import { isFrozen } from "./resources";
import type { ContainerCgroups, HostCgroups } from "./cgroups";

export const DEFAULT_ROOT = "/run/box-runc";
export const OCI_VERSION = "1.1.0";

export interface Saved {
  id: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  cgroups: ContainerCgroups;
  host: HostCgroups;
  poststart: OciHook[];
  poststop: OciHook[];
  /** The container's process, where exec starts from (its user, env, cwd, capabilities...);
   * none when config.json had none (the container can then be created, not started). */
  process?: OciProcess;
  /** The compiled seccomp filter (hex), applied to exec'd processes too. */
  seccomp?: string;
  noNewKeyring: boolean;
}

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export function checkId(id: string | undefined): string {
  if (id === undefined || id === "") throw new BoxError("container id cannot be empty", 1);
  if (!/^[\w+.-]{1,1024}$/.test(id) || id === "." || id === "..") throw new BoxError(`invalid container id format: ${id.slice(0, 100)}`, 1);
  return id;
}

export class Store {
  constructor(readonly root: string) {}

  ensure(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }
  dir(id: string): string {
    return join(this.root, id);
  }
  file(id: string, name: "state.json" | "pid" | "exec.fifo" | "lock"): string {
    return join(this.root, id, name);
  }
  exists(id: string): boolean {
    return existsSync(this.file(id, "state.json")) || existsSync(this.dir(id));
  }
  /** The container's lock, waited for (another command may be at work on it for a moment). */
  lock(id: string): Promise<Lock> {
    if (!existsSync(this.dir(id))) throw new BoxError("container does not exist", 1);
    return Lock.take(this.file(id, "lock"), `container ${id}`, 30_000);
  }
  /** fn on the container's state and status, read under its lock, held until fn is done. */
  async locked<T>(id: string, fn: (s: Saved, now: { status: Status; pid: number }) => T | Promise<T>): Promise<T> {
    const lock = await this.lock(id);
    try {
      const s = this.read(id);
      return await fn(s, this.status(s));
    } finally {
      lock.release();
    }
  }
  write(s: Saved): void {
    writeFileAtomic(this.file(s.id, "state.json"), toJson(s), 0o600, false);
  }
  read(id: string): Saved {
    let text: string;
    try {
      text = readFileSync(this.file(id, "state.json"), "utf8");
    } catch {
      throw new BoxError("container does not exist", 1);
    }
    try {
      return SAVED(parseJsonExact(text), "");
    } catch (err) {
      const why = err instanceof Invalid || err instanceof BoxError ? err.message : "it is not valid JSON (truncated?)";
      throw new BoxError(`the state of container ${id} (${this.file(id, "state.json")}) is damaged: ${why}`, 1);
    }
  }
  /** The container's process from the helper's pidfile, if it was written whole. */
  process(id: string): { pid: number; start: string } | undefined {
    try {
      const m = /^\d+ \d+ (\d+) (\d+)\n?$/.exec(readFileSync(this.file(id, "pid"), "utf8"));
      return m ? { pid: Number(m[1]), start: m[2]! } : undefined;
    } catch {
      return undefined;
    }
  }
  status(s: Saved): { status: Status; pid: number } {
    const p = this.process(s.id);
    if (!p) return { status: Lock.held(this.file(s.id, "lock")) ? "creating" : "stopped", pid: 0 };
    if (processStart(p.pid) !== p.start) return { status: "stopped", pid: 0 };
    if (existsSync(this.file(s.id, "exec.fifo"))) return { status: "created", pid: p.pid };
    return { status: isFrozen(s.host, s.cgroups) ? "paused" : "running", pid: p.pid };
  }
}

/** JSON with 64-bit integers (rlimits) written whole: parseJsonExact reads them back as BigInt. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `\u0000big:${v}` : v)).replace(/"\\u0000big:(\d+)"/g, "$1");
}

/** The runtime spec's state document, as `state` prints it and hooks read it. */
export function stateDocument(s: Saved, status: Status, pid: number): Record<string, unknown> {
  return { ociVersion: OCI_VERSION, id: s.id, status, pid, bundle: s.bundle, rootfs: s.rootfs, created: s.created, owner: "", annotations: s.annotations };
}

const strings: Check<string[]> = arr(str);
const hook: Check<OciHook> = obj<OciHook>({ path: str, args: opt(strings), env: opt(strings), timeout: opt(int) });
const mode = oneOf("v1", "hybrid", "v2");
const SAVED: Check<Saved> = obj<Saved>({
  id: str,
  bundle: str,
  rootfs: str,
  created: str,
  annotations: (v, at) => {
    const o = anyObject(v, at);
    for (const [k, x] of Object.entries(o)) str(x, `${at}.${k}`);
    return o as Record<string, string>;
  },
  cgroups: obj<ContainerCgroups>({ mode, dirs: strings, made: strings }),
  host: obj<HostCgroups>({ mode, hierarchies: arr(obj({ mount: str, controllers: strings, own: str })) }),
  poststart: arr(hook),
  poststop: arr(hook),
  process: opt(parseProcess),
  seccomp: opt(str),
  noNewKeyring: bool,
});
