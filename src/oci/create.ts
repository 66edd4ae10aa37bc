/**
 * create and run: a container of a bundle, from config.json to the helper.
 *
 *   1. config.json read and checked (config.ts); the root filesystem found
 *   2. the state directory made (its name is the id: a second create of one id fails here) and
 *      locked; the hold FIFO (create)
 *   3. the cgroups, with their limits and device rules (cgroups.ts, resources.ts)
 *   4. the seccomp filter compiled; the state written (state.ts)
 *   5. the plan (plan.ts), and exec into the helper, which holds the lock until it returns:
 *        create       held before the command's execve, left to box-runc's caller (conmon reaps
 *                     it, as with runc); start releases it
 *        run -d       the same, not held
 *        run          supervised in the foreground, removed when it ends (unless --keep)
 * Until step 5, each step's undo is kept; a failure undoes them all.
 */
import { chownSync, fstatSync, mkdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { BoxError } from "../errors";
import { Undo } from "../container/undo";
import { encodeFilter } from "../spec/seccomp/filter";
import { compileOciProfile } from "../spec/seccomp/oci";
import { encodePlan } from "../spec/plan";
import { Lock } from "../store/lock";
import { inheritable, mkfifo } from "../sys/libc";
import { checkCgroupsPath, createCgroups, hostCgroups, removeDirs } from "./cgroups";
import { loadConfig, type OciConfig, type OciProcess } from "./config";
import { deviceRules } from "./devices";
import { attachDeviceFilter } from "./devicefilter";
import { log, warn } from "./log";
import { planFor } from "./plan";
import { heldCapabilities } from "./process";
import { v2Controllers, writeResources } from "./resources";
import { checkId, stateDocument, type Saved, type Store } from "./state";

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noNewKeyring: boolean;
  mode: "create" | "run" | "run-detached";
  keep?: boolean;
}

function rootfsOf(config: OciConfig, bundle: string): string {
  if (!config.root) throw new BoxError("config.json: root is missing", 1);
  const path = isAbsolute(config.root.path) ? config.root.path : join(bundle, config.root.path);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new BoxError(`the root filesystem ${path} does not exist`, 1);
  }
  if (!statSync(real).isDirectory()) throw new BoxError(`the root filesystem ${path} is not a directory`, 1);
  return real;
}

/** The state hooks read, split around its status and pid (helper/hooks.c fills them in). */
function hookState(saved: Saved): [string, string, string] {
  const text = JSON.stringify(stateDocument(saved, "\u0001" as never, -987654321));
  const s = text.indexOf('"\\u0001"');
  const p = text.indexOf("-987654321");
  return [text.slice(0, s + 1), text.slice(s + 7, p), text.slice(p + 10)];
}

/** Detached, nothing relays: the host's terminal would go to the container as it is. */
function refuseTerminalStdio(process: OciProcess): void {
  if (process.terminal) return;
  for (const fd of [0, 1, 2]) {
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      continue;
    }
    if (st.isCharacterDevice() && !(st.rdev === 0x103)) {
      throw new BoxError(`fd ${fd} is a terminal, and box never hands the host's terminal to a detached container: redirect it, or set process.terminal and give --console-socket`, 1);
    }
  }
}

export async function createContainer(store: Store, o: CreateOptions): Promise<never> {
  const id = checkId(o.id);
  const bundle = realpathSync(resolve(o.bundle ?? "."));
  // 1.
  const { config, ignored } = loadConfig(bundle);
  for (const k of ignored) warn(`config.json: the field ${k} is not known to box and is passed over`);
  // Without a process (the runtime spec allows it) a container can be created, never started.
  if (!config.process && o.mode !== "create") throw new BoxError("config.json: process is missing: there is nothing to run", 1);
  const proc: OciProcess = config.process ?? { user: { uid: 0, gid: 0 }, args: [""], cwd: "/", noNewPrivileges: true };
  const rootfs = rootfsOf(config, bundle);
  const handoff = o.mode !== "run";
  if (proc.terminal && handoff && !o.consoleSocket) throw new BoxError("cannot allocate tty if box-runc will detach without setting console socket", 1);
  if (!proc.terminal && o.consoleSocket) throw new BoxError("cannot use console socket if the container does not have a terminal (process.terminal is false)", 1);
  if (handoff) refuseTerminalStdio(proc);

  // 2.
  store.ensure();
  const dir = store.dir(id);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new BoxError(`container with id exists: ${id}`, 1);
    throw new BoxError(`cannot make the state directory ${dir}: ${(err as NodeJS.ErrnoException).code}`, 1);
  }
  const undo = new Undo();
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const lock = Lock.try(store.file(id, "lock"))!;
    undo.push(() => lock.release());
    if (o.mode === "create") {
      // The held command opens it as the user it runs as.
      mkfifo(store.file(id, "exec.fifo"), 0o600);
      chownSync(store.file(id, "exec.fifo"), proc.user.uid, proc.user.gid);
    }

    // 3.
    const host = hostCgroups();
    const resources = config.linux?.resources ?? {};
    const cg = createCgroups(host, checkCgroupsPath(config.linux?.cgroupsPath, id), v2Controllers(resources));
    undo.push(() => removeDirs(cg.made, 1000));
    writeResources(host, cg, resources, host.mode === "v2" ? undefined : deviceRules(config));
    // cgroup v2 has no devices controller: the same rules as an eBPF program on the cgroup.
    if (host.mode === "v2") attachDeviceFilter(cg.dirs[0]!, deviceRules(config));

    // 4.
    let seccomp: string | undefined;
    if (config.linux?.seccomp) {
      try {
        seccomp = encodeFilter(compileOciProfile(config.linux.seccomp));
      } catch (err) {
        throw new BoxError(`config.json: linux.seccomp: ${(err as Error).message}`, 1);
      }
    }
    const saved: Saved = {
      id,
      bundle,
      rootfs,
      created: new Date().toISOString(),
      annotations: config.annotations ?? {},
      cgroups: cg,
      host,
      poststart: config.hooks?.poststart ?? [],
      poststop: config.hooks?.poststop ?? [],
      process: config.process,
      seccomp,
      noNewKeyring: o.noNewKeyring,
    };
    store.write(saved);

    // 5.
    const joined = host.hierarchies.map((h, i) => ({ dir: cg.dirs[i]!, mount: h.mount, controllers: h.controllers }));
    const records = planFor({
      config: { ...config, process: proc },
      bundle,
      rootfs,
      hookState: hookState(saved),
      cgroups: {
        mode: host.mode,
        joined,
        procs: cg.dirs.map((d) => join(d, "cgroup.procs")),
        cloneInto: host.mode === "v2" ? cg.dirs[0] : undefined,
        made: cg.made,
      },
      seccomp,
      keyring: !o.noNewKeyring,
      held: heldCapabilities(),
      pidFile: store.file(id, "pid"),
      ociPidFile: o.pidFile ? resolve(o.pidFile) : undefined,
      consoleSocket: o.consoleSocket ? resolve(o.consoleSocket) : undefined,
      hold: o.mode === "create" ? store.file(id, "exec.fifo") : undefined,
      handoff,
      cleanup: o.mode === "run" && o.keep ? [] : [dir],
      report: { format: log.format, log: log.file },
      warn,
    });
    const plan = encodePlan(records);
    // The helper holds the lock until it hands the container over (a foreground run lets go now:
    // kill and delete --force must reach a container that runs for long).
    if (o.mode === "run") lock.release();
    else inheritable(lock.fd);
    const { becomeHelper } = await import("../helper");
    return await becomeHelper(plan, { lib: store.root });
  } catch (err) {
    undo.unwind();
    throw err;
  }
}

