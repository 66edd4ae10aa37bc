import { statSync } from "node:fs";
import { homedir } from "node:os";
import { resolve, join } from "node:path";
import type { IdMapping } from "../userns/ids";

/** Where box keeps its state. `--root DIR` (or BOX_ROOT) moves all of it under DIR; a user other
 * than root keeps it in its own directories (rootlessDirs). */
export interface Layout {
  /** Persistent state: images and containers (/var/lib/box). */
  lib: string;
  /** Live state that a reboot clears (/run/box). */
  run: string;
  images: string;
  containers: string;
  names: string;
  /** Image names: <refs>/<name>:<tag> holds a digest. */
  refs: string;
  locks: string;
  /** One empty file per container that was started and may still hold cgroups or an address: made
   * before any of those, removed by its supervisor once it gave them back (or by the collector). */
  active: string;
  /** Scratch space on the same filesystem as images, so finished work can be renamed into place. */
  tmp: string;
  /** Rootless: the user namespace every container of this store has, and its image files are
   * unpacked in (src/userns/ids.ts); set by the commands (src/commands/common.ts, storeFor). */
  userns?: IdMapping;
}

/**
 * Where a user other than root keeps its store (rootless): $XDG_DATA_HOME/box (by default
 * ~/.local/share/box), and the live state in $XDG_RUNTIME_DIR/box when that is a directory of the
 * user's own (a login session has one: /run/user/UID), else in <lib>/run (su and setpriv set no
 * XDG_RUNTIME_DIR; the pidfiles there are checked against the processes' start times, so what a
 * reboot leaves is recognised as stale).
 */
export function rootlessDirs(env: Record<string, string | undefined>, uid: number): { lib: string; run: string } {
  const home = env.HOME?.startsWith("/") ? env.HOME : homedir();
  const data = env.XDG_DATA_HOME?.startsWith("/") ? env.XDG_DATA_HOME : join(home, ".local/share");
  const lib = join(data, "box");
  const runtime = env.XDG_RUNTIME_DIR;
  return { lib, run: runtime?.startsWith("/") && ownDir(runtime, uid) ? join(runtime, "box") : join(lib, "run") };
}

function ownDir(path: string, uid: number): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

export function layoutFor(root: string | undefined, env: Record<string, string | undefined> = process.env, uid = process.getuid?.() ?? 0): Layout {
  const chosen = root ?? env.BOX_ROOT;
  const user = uid !== 0 && !chosen ? rootlessDirs(env, uid) : undefined;
  const lib = chosen ? resolve(chosen) : user ? user.lib : "/var/lib/box";
  const run = chosen ? join(lib, "run") : user ? user.run : "/run/box";
  return {
    lib,
    run,
    images: join(lib, "images"),
    containers: join(lib, "containers"),
    names: join(lib, "names"),
    refs: join(lib, "refs"),
    locks: join(lib, "locks"),
    active: join(lib, "active"),
    tmp: join(lib, "tmp"),
  };
}
