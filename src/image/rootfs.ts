/**
 * Reading an image's files without mounting it: the overlay the container will see, worked out
 * from its layers (top first) the way overlayfs does — the topmost layer that has a name wins, a
 * whiteout (character device 0:0) hides the name in the layers below, an opaque directory
 * (trusted.overlay.opaque=y) hides the directories below it. Symbolic links are followed inside
 * the image only (an absolute target starts again at the image's root, `..` stops at it), at most
 * 40 of them, and every layer is read through src/fs in "beneath" mode, so nothing outside the
 * layers is ever read. For -u NAME (/etc/passwd, /etc/group) and for finding a command in PATH.
 */
import { Dir, isFsError, show, type Stat } from "../fs/dir";
import { BoxError } from "../errors";

export interface Found {
  /** Index into the layers (0 is the top). */
  layer: number;
  /** The path inside that layer, no links in it: its bytes as a latin1 string (names need not be UTF-8). */
  rel: string;
  stat: Stat;
}

/** Paths inside are byte strings: each char one byte (latin1), so no name is changed by decoding. */
const B = (rel: string) => Buffer.from(rel, "latin1");
const bin = (path: string | Uint8Array) => (typeof path === "string" ? Buffer.from(path) : Buffer.from(path)).toString("latin1");

function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

export class ImageFs {
  private readonly dirs: Array<Dir | undefined>;
  /** The layers holding each directory seen (by its path with no link in it), top first. */
  private readonly stacks = new Map<string, number[]>();

  constructor(
    /** Layer directories, top first (an image's lowerdirs, or one directory). */
    private readonly layers: readonly string[],
  ) {
    this.dirs = layers.map(() => undefined);
  }

  private dir(i: number): Dir {
    return (this.dirs[i] ??= Dir.open(this.layers[i]!, "beneath"));
  }

  /** Layer i (0 the top), to read what resolve or children found there. */
  layer(i: number): Dir {
    return this.dir(i);
  }

  private isWhiteout(st: Stat): boolean {
    return st.type === "char" && st.rdevMajor === 0 && st.rdevMinor === 0;
  }

  private isOpaque(i: number, rel: string): boolean {
    try {
      // trusted.* in a root's store; user.* in a rootless one (mounted with userxattr).
      const d = this.dir(i), at = rel ? B(rel) : ".";
      return d.getxattr(at, "trusted.overlay.opaque")?.toString() === "y" || d.getxattr(at, "user.overlay.opaque")?.toString() === "y";
    } catch {
      return false;
    }
  }

  /** What the merged view has at rel (the parent's layer stack given), as overlayfs finds it. */
  private child(stack: number[], rel: string): { kind: "none" } | { kind: "dir"; stack: number[]; stat: Stat } | { kind: "other"; layer: number; stat: Stat } {
    const found: number[] = [];
    let top: Stat | undefined;
    for (const i of stack) {
      const st = this.dir(i).tryLstat(B(rel));
      if (!st) continue;
      if (this.isWhiteout(st)) break;
      if (st.type !== "dir") {
        if (found.length === 0) return { kind: "other", layer: i, stat: st };
        break;
      }
      top ??= st;
      found.push(i);
      if (this.isOpaque(i, rel)) break;
    }
    return found.length ? { kind: "dir", stack: found, stat: top! } : { kind: "none" };
  }

  /** The layer stack of a directory path with no links in it (from the root). */
  private stackOf(resolved: string[]): number[] | undefined {
    // The longest prefix seen before, then the rest: a walk of a deep tree costs each directory once.
    let n = resolved.length;
    while (n > 0 && !this.stacks.has(resolved.slice(0, n).join("/"))) n--;
    let stack = n > 0 ? this.stacks.get(resolved.slice(0, n).join("/"))! : this.layers.map((_, i) => i);
    for (n++; n <= resolved.length; n++) {
      const rel = resolved.slice(0, n).join("/");
      const c = this.child(stack, rel);
      if (c.kind !== "dir") return undefined;
      stack = c.stack;
      this.stacks.set(rel, stack);
    }
    return stack;
  }

  /** What a path with no link in it is, its last component not followed (a walk's lookups). */
  lookup(path: Uint8Array): Found | undefined {
    const ps = parts(bin(path));
    if (ps.length === 0) return this.resolve("/");
    const stack = this.stackOf(ps.slice(0, -1));
    if (!stack) return undefined;
    const rel = ps.join("/");
    const c = this.child(stack, rel);
    if (c.kind === "none") return undefined;
    if (c.kind === "other") return { layer: c.layer, rel, stat: c.stat };
    this.stacks.set(rel, c.stack);
    return { layer: c.stack[0]!, rel, stat: c.stat };
  }

  /**
   * Where path is in the image: undefined when it does not exist. followLast: a final symbolic
   * link is followed too (as open(2) does); otherwise it is what is found (as lstat(2)).
   */
  resolve(path: string | Uint8Array, followLast = true): Found | undefined {
    let pending = parts(bin(path));
    let resolved: string[] = [];
    let stack = this.layers.map((_, i) => i);
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === "..") {
        resolved.pop();
        stack = this.stackOf(resolved) ?? [];
        continue;
      }
      const rel = [...resolved, c].join("/");
      const found = this.child(stack, rel);
      if (found.kind === "none") return undefined;
      if (found.kind === "other" && found.stat.type === "symlink" && (pending.length > 0 || followLast)) {
        if (++links > 40) throw new BoxError(`${path} in the image goes through more than 40 symbolic links`);
        const target = this.dir(found.layer).readlink(B(rel)).toString("latin1");
        pending = [...parts(target), ...pending];
        if (target.startsWith("/")) {
          resolved = [];
          stack = this.layers.map((_, i) => i);
        }
        continue;
      }
      if (found.kind === "other") return pending.length > 0 ? undefined : { layer: found.layer, rel, stat: found.stat };
      resolved.push(c);
      stack = found.stack;
      if (pending.length === 0) return { layer: found.stack[0]!, rel, stat: found.stat };
    }
    if (stack.length === 0) return undefined;
    return { layer: stack[0]!, rel: resolved.join("/"), stat: this.dir(stack[0]!).lstat(B(resolved.join("/")) || ".") };
  }

  /** A regular file's content (links followed inside the image); undefined when it does not exist. */
  readFile(path: string, cap: number): Buffer | undefined {
    const f = this.resolve(path);
    if (!f) return undefined;
    if (f.stat.type !== "file") throw new BoxError(`${path} in the image is not a regular file`);
    try {
      return this.dir(f.layer).readFile(B(f.rel), cap);
    } catch (err) {
      if (isFsError(err, "EFBIG")) throw new BoxError(`${path} in the image is larger than ${cap} bytes`);
      if (isFsError(err)) throw new BoxError(`cannot read ${path} in the image: ${err.message}`);
      throw err;
    }
  }

  /** The names a directory of the image holds, as the container lists them (sorted). */
  list(path: string): string[] | undefined {
    const f = this.resolve(path);
    if (!f || f.stat.type !== "dir") return undefined;
    return this.children(B(f.rel)).map((c) => c.name.toString("utf8")).sort();
  }

  /**
   * The entries of a directory given by a path with no links in it ("" the root), as the merged
   * view has them: each with the layer it comes from and what it is there. Names as bytes, sorted.
   */
  children(dirRel: Uint8Array): Array<{ name: Buffer; layer: number; stat: Stat }> {
    const rel = bin(dirRel);
    const stack = this.stackOf(parts(rel)) ?? [];
    const out: Array<{ name: Buffer; layer: number; stat: Stat }> = [];
    const seen = new Set<string>();
    for (const i of stack) {
      for (const { raw } of this.dir(i).list(rel ? B(rel) : ".")) {
        const name = raw.toString("latin1");
        if (seen.has(name)) continue;
        seen.add(name);
        const c = this.child(stack, rel ? `${rel}/${name}` : name);
        if (c.kind === "dir") out.push({ name: raw, layer: c.stack[0]!, stat: c.stat });
        else if (c.kind === "other") out.push({ name: raw, layer: c.layer, stat: c.stat });
      }
    }
    return out.sort((a, b) => Buffer.compare(a.name, b.name));
  }

  close(): void {
    for (const d of this.dirs) d?.close();
    this.dirs.fill(undefined);
  }
}

/** A regular file of an image by its layers (top first); undefined when it does not exist. */
export function readImageFile(image: { layers: readonly string[] }, path: string, cap = 1 << 20): Buffer | undefined {
  const fs = new ImageFs(image.layers);
  try {
    return fs.readFile(path, cap);
  } finally {
    fs.close();
  }
}

/** The names in a directory of the image (links followed inside it), or undefined. */
export function listImageDir(image: { layers: readonly string[] }, path: string): string[] | undefined {
  const fs = new ImageFs(image.layers);
  try {
    return fs.list(path);
  } finally {
    fs.close();
  }
}

/** What the image has at path (links followed inside it), or undefined. */
export function statImagePath(image: { layers: readonly string[] }, path: string): Stat | undefined {
  const fs = new ImageFs(image.layers);
  try {
    return fs.resolve(path)?.stat;
  } catch (err) {
    if (err instanceof BoxError) return undefined;
    throw err;
  } finally {
    fs.close();
  }
}

export { show };
