/**
 * A tree walked as archive entries (src/image/tar.ts's EntrySource): what box cp, box export,
 * box commit and a volume's first use read, handed to the unpacker (into a directory) or to the
 * tar writer (to a stream). Directories first, then their entries in name order; hard links as
 * links to the first name seen; sockets left out (a tar cannot hold one). Regular files are opened
 * only as regular files and read up to the size their header gives: one that shrank meanwhile is
 * padded with zeros (said once), one that grew is cut, as GNU tar does.
 *
 * As an image layer (box commit: the walk of an overlay's upper directory), overlay's markers
 * become the OCI image spec's: a whiteout (a character device 0:0) is `.wh.NAME`, an opaque
 * directory gets `.wh..wh..opq`; a directory renamed with redirect_dir or a metacopy-only file,
 * which the upper directory alone cannot describe, is refused.
 */
import { closeSync, readSync } from "node:fs";
import { BoxError } from "../errors";
import { isFsError, show, type Stat } from "../fs/dir";
import type { EntrySource, EntryType, TarEntry } from "../image/tar";
import { join, type Tree } from "./tree";

export interface WalkOptions {
  /** The name of the top entry; "" for a directory's content only (names relative to it). */
  as: Buffer;
  /** Overlay's markers become OCI whiteouts (box commit). */
  layer?: boolean;
  /** Told what the stream leaves out or pads. */
  warn?(message: string): void;
}

const TYPES: Partial<Record<Stat["type"], EntryType>> = { file: "file", dir: "dir", symlink: "symlink", char: "char", block: "block", fifo: "fifo" };
const CHUNK = 256 * 1024;

interface Pending {
  entry: TarEntry;
  /** A regular file whose data follows: where it is in the tree. */
  data?: Buffer;
}

export class TreeSource implements EntrySource {
  private readonly it: Generator<Pending>;
  private current?: { rel: Buffer; size: number; name: string };
  private readonly links = new Map<string, Buffer>();
  /** Bytes of file data handed out. */
  bytes = 0;

  constructor(
    private readonly tree: Tree,
    /** Where the walk starts: a path of the tree with no link in it ("" the root). */
    top: Buffer,
    private readonly opts: WalkOptions,
  ) {
    this.it = this.walk(top, opts.as, true);
  }

  async next(): Promise<TarEntry | undefined> {
    this.current = undefined;
    const r = this.it.next();
    if (r.done) return undefined;
    const { entry, data } = r.value;
    if (data) this.current = { rel: data, size: entry.size, name: show(entry.name) };
    return entry;
  }

  async *body(): AsyncGenerator<Buffer> {
    const cur = this.current;
    this.current = undefined;
    if (!cur) return;
    const fd = this.tree.open(cur.rel);
    try {
      let left = cur.size;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) {
          this.opts.warn?.(`${cur.name} shrank while it was read: padded with zeros`);
          yield Buffer.alloc(left);
          this.bytes += left;
          return;
        }
        left -= n;
        this.bytes += n;
        yield buf.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }

  async drain(): Promise<void> {
    for (let e = await this.next(); e; e = await this.next()) {
      /* the rest is not wanted */
    }
  }

  private entry(name: Buffer, st: Stat, type: EntryType, rel: Buffer): TarEntry {
    const xattrs = type === "link" ? [] : this.xattrs(rel);
    return {
      name,
      type,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: type === "file" ? st.size : 0,
      mtime: st.mtime,
      linkname: Buffer.alloc(0),
      devmajor: st.rdevMajor,
      devminor: st.rdevMinor,
      xattrs,
    };
  }

  private xattrs(rel: Buffer): Array<[string, Buffer]> {
    let all: Array<[string, Buffer]>;
    try {
      all = this.tree.xattrs(rel);
    } catch (err) {
      if (isFsError(err, "ENOTSUP", "EOPNOTSUPP", "EPERM", "EACCES")) return [];
      throw err;
    }
    if (this.opts.layer) {
      for (const [n] of all) {
        if (n === "trusted.overlay.redirect" || n === "trusted.overlay.metacopy") {
          throw new BoxError(`${show(rel)} is recorded by overlayfs as ${n.slice(16)} (a renamed directory or a file whose data stays below): box cannot turn it into a layer yet`);
        }
      }
    }
    return all.filter(([n]) => !/^(trusted|user)\.overlay\./.test(n));
  }

  private *walk(rel: Buffer, name: Buffer, top: boolean, listed?: Stat): Generator<Pending> {
    const st = listed ?? this.tree.lstat(rel);
    if (!st) {
      if (top) throw new BoxError(`${show(rel) || "/"} does not exist`);
      return; // gone meanwhile
    }
    const kernel = this.tree.skip?.(rel, st) === true;
    if (kernel && top) throw new BoxError(`${show(rel)} is on a filesystem of the kernel's (/proc, /sys): box does not copy from it`);
    if (st.type === "dir") {
      if (name.length > 0) yield { entry: this.entry(name, st, "dir", rel) };
      if (this.opts.layer && this.isOpaque(rel)) yield { entry: this.marker(join(name, Buffer.from(".wh..wh..opq")), st) };
      if (kernel) return;
      for (const child of this.tree.list(rel)) yield* this.walk(join(rel, child.name), join(name, child.name), false, child.stat);
      return;
    }
    if (name.length === 0) throw new BoxError(`${show(rel)} is not a directory`);
    if (this.opts.layer && st.type === "char" && st.rdevMajor === 0 && st.rdevMinor === 0) {
      const slash = name.lastIndexOf(0x2f);
      const marked = Buffer.concat([name.subarray(0, slash + 1), Buffer.from(".wh."), name.subarray(slash + 1)]);
      yield { entry: this.marker(marked, st) };
      return;
    }
    const type = TYPES[st.type];
    if (!type) {
      this.opts.warn?.(`${show(rel)} is a socket: left out`);
      return;
    }
    if (type !== "dir" && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first) {
        yield { entry: { ...this.entry(name, st, "link", rel), linkname: first } };
        return;
      }
      this.links.set(key, name);
    }
    const entry = this.entry(name, st, type, rel);
    if (type === "symlink") entry.linkname = this.tree.readlink(rel);
    yield { entry, ...(type === "file" ? { data: rel } : {}) };
  }

  private isOpaque(rel: Buffer): boolean {
    return this.tree.xattrs(rel).some(([n, v]) => n === "trusted.overlay.opaque" && v.toString() === "y");
  }

  /** An empty regular file standing for an overlay marker (OCI whiteouts). */
  private marker(name: Buffer, st: Stat): TarEntry {
    return { name, type: "file", mode: 0, uid: 0, gid: 0, size: 0, mtime: st.mtime, linkname: Buffer.alloc(0), devmajor: 0, devminor: 0, xattrs: [] };
  }
}
