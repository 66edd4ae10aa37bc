/**
 * Trees of files to copy from, each read without ever following a link the tree holds:
 *   - DirTree: a directory through a Dir in "beneath" mode (a host directory, an overlay's upper
 *     directory, a running container's root as /proc/PID/root);
 *   - LayersTree: the merged view of overlay layers, top first (an image; a container's upper
 *     directory over its image), worked out by src/image/rootfs.ts as overlayfs would;
 *   - MountedTree: a tree with other trees at paths inside it (a stopped container's binds and
 *     volumes, where the container would see them).
 * Paths given to a tree are relative to its root and hold no symbolic link: resolvePath makes a
 * path so, following links the way the kernel would but inside the tree only (an absolute target
 * starts again at the tree's root, `..` stops there). A tree that changes meanwhile (a running
 * container) can make an operation fail (a link where a directory was: ELOOP), never leave it.
 */
import { BoxError } from "../errors";
import { Dir, isFsError, type Stat } from "../fs/dir";
import { ImageFs } from "../image/rootfs";

export interface Entry {
  name: Buffer;
  stat: Stat;
}

export interface Tree {
  /** What rel is (not followed); undefined when absent. */
  lstat(rel: Buffer): Stat | undefined;
  /** A directory's entries, sorted by name. */
  list(rel: Buffer): Entry[];
  readlink(rel: Buffer): Buffer;
  /** A regular file opened for reading (the caller closes the fd); anything else is refused unopened. */
  open(rel: Buffer): number;
  xattrs(rel: Buffer): Array<[string, Buffer]>;
  /** A directory listed but not entered (a running container's /proc and /sys). */
  skip?(rel: Buffer, st: Stat): boolean;
  close(): void;
}

/** Runs fn; a failed file operation (a link planted meanwhile, a full disk) becomes one sentence. */
export async function asSentence<T>(fn: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isFsError(err)) throw new BoxError(what ? `${what}: ${err.message}` : err.message);
    throw err;
  }
}

export const join = (dir: Buffer, name: Buffer): Buffer => (dir.length === 0 ? name : Buffer.concat([dir, Buffer.from("/"), name]));

const split = (path: Buffer): Buffer[] => path.toString("latin1").split("/").filter((p) => p !== "" && p !== ".").map((p) => Buffer.from(p, "latin1"));

/** A directory, read through a Dir in "beneath" mode: no link in any path is followed. */
export class DirTree implements Tree {
  constructor(
    readonly dir: Dir,
    /** Mounts (by statx mount id) whose directories are listed but not entered. */
    private readonly skipMounts: ReadonlySet<bigint> = new Set(),
  ) {
    if (dir.resolve !== "beneath") throw new Error("a DirTree reads through a Dir in beneath mode");
  }
  lstat(rel: Buffer): Stat | undefined {
    return this.dir.tryLstat(rel);
  }
  list(rel: Buffer): Entry[] {
    const out: Entry[] = [];
    for (const { raw } of this.dir.list(rel)) {
      const stat = this.dir.tryLstat(join(rel, raw));
      if (stat) out.push({ name: raw, stat });
    }
    return out.sort((a, b) => Buffer.compare(a.name, b.name));
  }
  readlink(rel: Buffer): Buffer {
    return this.dir.readlink(rel);
  }
  open(rel: Buffer): number {
    return this.dir.openFile(rel);
  }
  xattrs(rel: Buffer): Array<[string, Buffer]> {
    return this.dir.xattrs(rel);
  }
  skip(_rel: Buffer, st: Stat): boolean {
    return this.skipMounts.has(st.mntId);
  }
  close(): void {
    this.dir.close();
  }
}

/** The merged view of overlay layers (top first): whiteouts hide, opaque directories stop. */
export class LayersTree implements Tree {
  private readonly fs: ImageFs;
  constructor(layers: readonly string[]) {
    this.fs = new ImageFs(layers);
  }
  private found(rel: Buffer, op: string) {
    const f = this.fs.lookup(rel);
    if (!f) throw new BoxError(`cannot ${op} ${rel.toString("utf8")}: it is gone`);
    return { dir: this.fs.layer(f.layer), rel: Buffer.from(f.rel, "latin1") };
  }
  lstat(rel: Buffer): Stat | undefined {
    return this.fs.lookup(rel)?.stat;
  }
  list(rel: Buffer): Entry[] {
    return this.fs.children(rel).map(({ name, stat }) => ({ name, stat }));
  }
  readlink(rel: Buffer): Buffer {
    const f = this.found(rel, "read the link");
    return f.dir.readlink(f.rel);
  }
  open(rel: Buffer): number {
    const f = this.found(rel, "read");
    return f.dir.openFile(f.rel);
  }
  xattrs(rel: Buffer): Array<[string, Buffer]> {
    const f = this.found(rel, "read the attributes of");
    return f.dir.xattrs(f.rel.length ? f.rel : ".").filter(([n]) => !n.startsWith("trusted.overlay."));
  }
  close(): void {
    this.fs.close();
  }
}

/** A tree with others mounted at link-free paths inside it (the deepest mount holding a path wins). */
export class MountedTree implements Tree {
  private readonly mounts: Array<{ at: Buffer; tree: Tree }>;
  constructor(private readonly base: Tree, mounts: Array<{ at: Buffer; tree: Tree }>) {
    this.mounts = [...mounts].sort((a, b) => b.at.length - a.at.length);
  }
  /** The tree that holds rel, and rel inside it. */
  where(rel: Buffer): { tree: Tree; rel: Buffer } {
    for (const m of this.mounts) {
      if (rel.equals(m.at)) return { tree: m.tree, rel: Buffer.alloc(0) };
      if (rel.length > m.at.length && rel[m.at.length] === 0x2f && rel.subarray(0, m.at.length).equals(m.at)) return { tree: m.tree, rel: rel.subarray(m.at.length + 1) };
    }
    return { tree: this.base, rel };
  }
  lstat(rel: Buffer): Stat | undefined {
    const w = this.where(rel);
    return w.tree.lstat(w.rel);
  }
  list(rel: Buffer): Entry[] {
    const w = this.where(rel);
    const out = new Map(w.tree.list(w.rel).map((e) => [e.name.toString("latin1"), e]));
    // Mount points right below rel show what is mounted there, made or not in the tree below.
    for (const m of this.mounts) {
      const slash = m.at.lastIndexOf(0x2f);
      if (!m.at.subarray(0, Math.max(slash, 0)).equals(rel)) continue;
      const name = m.at.subarray(slash + 1);
      const stat = m.tree.lstat(Buffer.alloc(0));
      if (stat) out.set(name.toString("latin1"), { name, stat });
    }
    return [...out.values()].sort((a, b) => Buffer.compare(a.name, b.name));
  }
  readlink(rel: Buffer): Buffer {
    const w = this.where(rel);
    return w.tree.readlink(w.rel);
  }
  open(rel: Buffer): number {
    const w = this.where(rel);
    return w.tree.open(w.rel);
  }
  xattrs(rel: Buffer): Array<[string, Buffer]> {
    const w = this.where(rel);
    return w.tree.xattrs(w.rel);
  }
  close(): void {
    this.base.close();
    for (const m of this.mounts) m.tree.close();
  }
}

/**
 * A path inside a tree as one with no link in it: links are followed inside the tree (at most
 * 40), the last one only when followLast. Undefined when a part is missing or not a directory.
 */
export function resolvePath(tree: Tree, path: Buffer, followLast: boolean): { rel: Buffer; stat: Stat } | undefined {
  let pending = split(path);
  let resolved: Buffer[] = [];
  let links = 0;
  const at = (parts: Buffer[]) => Buffer.from(parts.map((p) => p.toString("latin1")).join("/"), "latin1");
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c.toString("latin1") === "..") {
      resolved.pop();
      continue;
    }
    const rel = at([...resolved, c]);
    let st: Stat | undefined;
    try {
      st = tree.lstat(rel);
    } catch (err) {
      if (isFsError(err, "ELOOP", "EXDEV")) return undefined;
      throw err;
    }
    if (!st) return undefined;
    if (st.type === "symlink" && (pending.length > 0 || followLast)) {
      if (++links > 40) throw new BoxError(`${path.toString("utf8")} goes through more than 40 symbolic links`);
      const target = tree.readlink(rel);
      pending = [...split(target), ...pending];
      if (target[0] === 0x2f) resolved = [];
      continue;
    }
    if (st.type !== "dir" && pending.length > 0) return undefined;
    resolved.push(c);
  }
  const rel = at(resolved);
  const stat = tree.lstat(rel);
  return stat ? { rel, stat } : undefined;
}
