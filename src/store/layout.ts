import { resolve, join } from "node:path";

/** Where box keeps its state. `--root DIR` (or BOX_ROOT) moves all of it under DIR. */
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
}

export function layoutFor(root: string | undefined, env: Record<string, string | undefined> = process.env): Layout {
  const chosen = root ?? env.BOX_ROOT;
  const lib = chosen ? resolve(chosen) : "/var/lib/box";
  const run = chosen ? join(lib, "run") : "/run/box";
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
