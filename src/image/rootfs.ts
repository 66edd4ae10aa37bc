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
  /** The path inside that layer, no links in it. */
  rel: string;
  stat: Stat;
}

function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

export class ImageFs {
  private readonly dirs: Array<Dir | undefined>;

  constructor(
    /** Layer directories, top first (an image's lowerdirs, or one directory). */
    private readonly layers: readonly string[],
  ) {
    this.dirs = layers.map(() => undefined);
  }

  private dir(i: number): Dir {
    return (this.dirs[i] ??= Dir.open(this.layers[i]!, "beneath"));
  }

  private isWhiteout(st: Stat): boolean {
    return st.type === "char" && st.rdevMajor === 0 && st.rdevMinor === 0;
  }

  private isOpaque(i: number, rel: string): boolean {
    try {
      // trusted.* in a root's store; user.* in a rootless one (mounted with userxattr).
      const d = this.dir(i);
      return d.getxattr(rel || ".", "trusted.overlay.opaque")?.toString() === "y" || d.getxattr(rel || ".", "user.overlay.opaque")?.toString() === "y";
    } catch {
      return false;
    }
  }

  /** What the merged view has at rel (the parent's layer stack given), as overlayfs finds it. */
  private child(stack: number[], rel: string): { kind: "none" } | { kind: "dir"; stack: number[]; stat: Stat } | { kind: "other"; layer: number; stat: Stat } {
    const found: number[] = [];
    let top: Stat | undefined;
    for (const i of stack) {
      const st = this.dir(i).tryLstat(rel);
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
    let stack = this.layers.map((_, i) => i);
    for (let n = 1; n <= resolved.length; n++) {
      const c = this.child(stack, resolved.slice(0, n).join("/"));
      if (c.kind !== "dir") return undefined;
      stack = c.stack;
    }
    return stack;
  }

  /**
   * Where path is in the image: undefined when it does not exist. followLast: a final symbolic
   * link is followed too (as open(2) does); otherwise it is what is found (as lstat(2)).
   */
  resolve(path: string, followLast = true): Found | undefined {
    let pending = parts(path);
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
        const target = this.dir(found.layer).readlink(rel).toString("utf8");
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
    return { layer: stack[0]!, rel: resolved.join("/"), stat: this.dir(stack[0]!).lstat(resolved.join("/") || ".") };
  }

  /** A regular file's content (links followed inside the image); undefined when it does not exist. */
  readFile(path: string, cap: number): Buffer | undefined {
    const f = this.resolve(path);
    if (!f) return undefined;
    if (f.stat.type !== "file") throw new BoxError(`${path} in the image is not a regular file`);
    try {
      return this.dir(f.layer).readFile(f.rel, cap);
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
    const stack = this.stackOf(f.rel ? f.rel.split("/") : []) ?? [];
    const seen = new Set<string>();
    const hidden = new Set<string>();
    for (const i of stack) {
      for (const { name } of this.dir(i).list(f.rel || ".")) {
        if (seen.has(name) || hidden.has(name)) continue;
        const st = this.dir(i).lstat(f.rel ? `${f.rel}/${name}` : name);
        if (this.isWhiteout(st)) hidden.add(name);
        else seen.add(name);
      }
    }
    return [...seen].sort();
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
