/** The unpacker's helpers: member names made clean, parent directories held open, failures explained. */
import { BoxError } from "../errors";
import { Dir, isFsError, show } from "../fs/dir";
import type { TarEntry } from "./tar";

export function refuse(entry: string, why: string): never {
  throw new BoxError(`refusing the archive entry "${entry}": ${why}`);
}

export const PATH_MAX = 4095;

/**
 * An archive member name as a clean relative path ("" for the root itself). Absolute names and
 * `..` components are refused rather than rewritten: an archive that needs them is not a root
 * filesystem box should trust.
 */
export function memberBytes(name: Buffer, shown = show(name)): Buffer {
  if (name[0] === 0x2f) refuse(shown, "it is an absolute path");
  const parts = name.toString("latin1").split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) refuse(shown, "it contains '..'");
  const out = Buffer.from(parts.join("/"), "latin1");
  if (out.length > PATH_MAX) refuse(shown, `its name is longer than ${PATH_MAX} bytes`);
  return out;
}

/** memberBytes for a text name (tests, messages). */
export function memberPath(name: string): string {
  return memberBytes(Buffer.from(name), name).toString("utf8");
}

/** Directory fds of parents, so each entry costs one *at call, not a path walk. */
export class Parents {
  private readonly cache = new Map<string, Dir>();
  constructor(private readonly root: Dir) {}

  get(parent: Buffer): Dir {
    if (parent.length === 0) return this.root;
    const key = parent.toString("latin1");
    const hit = this.cache.get(key);
    if (hit) return hit;
    // From its own parent when that is open (a deep tree costs one step per directory, not its depth).
    const slash = parent.lastIndexOf(0x2f);
    const above = slash > 0 ? this.cache.get(key.slice(0, slash)) : undefined;
    const from = above ?? this.root;
    const rel = above ? parent.subarray(slash + 1) : parent;
    from.mkdirs(rel, 0o755);
    const dir = from.openDir(rel);
    if (this.cache.size >= 256) this.closeAll();
    this.cache.set(key, dir);
    return dir;
  }

  /** Drops path and everything under it (it was removed or replaced). */
  forget(path: Buffer): void {
    const key = path.toString("latin1");
    for (const [k, dir] of this.cache) {
      if (k === key || k.startsWith(key + "/")) {
        dir.close();
        this.cache.delete(k);
      }
    }
  }

  closeAll(): void {
    for (const dir of this.cache.values()) dir.close();
    this.cache.clear();
  }
}

/** A failed file operation as a sentence naming the entry (and the link in the way, if any). */
export function explain(err: unknown, dest: Dir, e: TarEntry, rel: Buffer, shown: string): Error {
  if (isFsError(err, "ELOOP", "ENOTDIR")) {
    const paths = e.type === "link" ? [rel, memberBytes(e.linkname)] : [rel];
    for (const p of paths) {
      const parts = p.toString("latin1").split("/");
      for (let i = 1; i <= parts.length; i++) {
        const prefix = Buffer.from(parts.slice(0, i).join("/"), "latin1");
        const st = dest.tryLstat(prefix);
        if (st?.type === "symlink" && i < parts.length) return new BoxError(`refusing the archive entry "${shown}": it would be written through the symbolic link "${show(prefix)}"`);
        if (st && st.type !== "dir" && st.type !== "symlink" && i < parts.length) return new BoxError(`refusing the archive entry "${shown}": "${show(prefix)}" is not a directory`);
      }
    }
  }
  // EINVAL from a chown in a user namespace: the owner is beyond the ids it maps.
  if (isFsError(err, "EINVAL") && err instanceof Error && err.message.includes("owner")) {
    return new BoxError(`cannot unpack the archive entry "${shown}": its owner ${e.uid}:${e.gid} is beyond the ids your user namespace maps (ask for a larger range in /etc/subuid and /etc/subgid)`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new BoxError(`cannot unpack the archive entry "${shown}": ${msg}`);
}

