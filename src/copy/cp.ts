/**
 * box cp's rules, as docker's (docs of `docker cp`): with SRC a file, DEST a directory gets it
 * under its own name, an existing file is overwritten, a missing DEST is the new file's name (a
 * DEST ending in / must then exist); with SRC a directory, an existing DEST directory gets it
 * under its own name (or its content, for SRC ending in /.), a missing DEST is made with its
 * content, a DEST file is an error. A final link in SRC is copied as a link unless -L.
 *
 * The container's side is a Tree (read) and directories to write in (src/container/view.ts), every
 * path resolved inside it, no link followed once resolved: a link in the container can never
 * lead box to a host path. The host's side is the user's own path (links in it followed, as for
 * any program), and below it nothing is followed either: what comes from the container lands
 * under the destination, whatever its names and links say.
 */
import { lstatSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { BoxError } from "../errors";
import { Dir, isFsError } from "../fs/dir";
import type { EntrySource } from "../image/tar";
import { unpackLayer, type UnpackOptions } from "../image/unpack";
import { DirTree, resolvePath, type Tree } from "./tree";
import { TreeSource } from "./walk";

export interface ContainerSide {
  tree: Tree;
  /** A directory (a path with no link in it) to write in. */
  dirAt?(rel: Buffer): Dir;
}

export interface CopyOptions {
  /** -a: owners as in the source (else root's in a container, box's user on the host). */
  archive: boolean;
  /** -L: a final link in SRC is followed. */
  followLink: boolean;
  warn(message: string): void;
  /** The container's root as the host sees it, when the container has a user namespace of its own
   * (rootless: the user; --userns=auto: its range's first id). */
  rootOwner?: { uid: number; gid: number };
}

const CONTENT = /\/\.$/;
const SLASH = Buffer.from("/");
const bytes = (s: string) => Buffer.from(s);

/** What a source is: where in its tree, what it is, the name its top entry gets, content only or not. */
interface Source {
  tree: Tree;
  rel: Buffer;
  isDir: boolean;
  name: Buffer;
  content: boolean;
}

function entries(src: Source, as: Buffer, warn: (m: string) => void): EntrySource {
  return new TreeSource(src.tree, src.rel, { as, warn });
}

/** The container's SRC (cp CONTAINER:SRC ...). */
export function containerSource(side: ContainerSide, path: string, opts: CopyOptions): Source {
  const content = CONTENT.test(path) || path.replace(/\/+$/, "") === "";
  const found = resolvePath(side.tree, bytes(path), opts.followLink || path.endsWith("/") || content);
  if (!found) throw new BoxError(`no such file or directory in the container: ${path}`);
  const isDir = found.stat.type === "dir";
  if (!isDir && (path.endsWith("/") || content)) throw new BoxError(`${path} in the container is not a directory`);
  return { tree: side.tree, rel: found.rel, isDir, name: bytes(basename(path.replace(/\/\.?$/, "")) || "."), content };
}

/** The host's SRC (cp SRC CONTAINER:...): its parent is the user's path; below, nothing is followed. */
export function hostSource(path: string, opts: CopyOptions): Source {
  const content = CONTENT.test(path) || path === "." || resolve(path) === "/";
  let abs = resolve(path);
  try {
    if (opts.followLink || path.endsWith("/") || content) abs = realpathSync(abs);
    if (path.endsWith("/") && !statSync(abs).isDirectory()) throw new BoxError(`${path} is not a directory`);
    lstatSync(abs);
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`no such file or directory: ${path}`);
  }
  const top = abs === "/" ? "/" : dirname(abs);
  const tree = new DirTree(Dir.open(top, "beneath"));
  const rel = abs === "/" ? Buffer.alloc(0) : bytes(basename(abs));
  const st = tree.lstat(rel);
  if (!st) throw new BoxError(`no such file or directory: ${path}`);
  if (content && st.type !== "dir") throw new BoxError(`${path} is not a directory`);
  return { tree, rel, isDir: st.type === "dir", name: bytes(basename(resolve(path).replace(/\/\.?$/, "")) || "."), content };
}

/** Where a copy lands: the directory to unpack in, and the name of the top entry there. */
function landing(src: Source, dest: string, exists: { isDir: boolean } | undefined): { intoParent: boolean; as: Buffer } {
  if (exists?.isDir) return { intoParent: false, as: src.isDir && src.content ? Buffer.alloc(0) : src.name };
  if (exists) {
    if (src.isDir) throw new BoxError(`cannot copy a directory to a file: ${dest}`);
    return { intoParent: true, as: bytes(basename(dest)) };
  }
  if (!src.isDir && dest.endsWith("/")) throw new BoxError(`the destination directory ${dest} must exist`);
  return { intoParent: true, as: bytes(basename(dest.replace(/\/+$/, ""))) };
}

async function unpackInto(source: EntrySource, dir: Dir, opts: UnpackOptions): Promise<void> {
  try {
    await unpackLayer(source, dir, { plain: true, ...opts });
  } finally {
    dir.close();
  }
}

/** cp CONTAINER:SRC HOSTDEST. */
export async function copyToHost(src: Source, dest: string, opts: CopyOptions): Promise<void> {
  const abs = resolve(dest);
  let exists: { isDir: boolean } | undefined;
  try {
    exists = { isDir: statSync(abs).isDirectory() };
  } catch {
    exists = undefined;
  }
  const land = landing(src, dest, exists);
  const dirPath = land.intoParent ? dirname(abs) : abs;
  let dir: Dir;
  try {
    dir = Dir.open(dirPath, "beneath");
  } catch (err) {
    if (isFsError(err, "ENOENT", "ENOTDIR")) throw new BoxError(`the directory ${dirPath} does not exist`);
    throw err;
  }
  const owner = opts.archive ? undefined : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  await unpackInto(entries(src, land.as, opts.warn), dir, { ...(owner ? { owner } : {}), dropSetid: !opts.archive });
}

/** cp HOSTSRC CONTAINER:DEST, or cp - CONTAINER:DEST (a tar stream, into a directory). */
export async function copyToContainer(src: Source | EntrySource, side: ContainerSide, dest: string, opts: CopyOptions): Promise<void> {
  if (!side.dirAt) throw new BoxError("this container's files cannot be written");
  const found = resolvePath(side.tree, bytes(dest), true);
  const owner = opts.archive ? {} : { owner: opts.rootOwner ?? { uid: 0, gid: 0 } };
  if (!("tree" in src)) {
    if (!found || found.stat.type !== "dir") throw new BoxError(`the destination ${dest} must be a directory in the container`);
    if (side.tree.skip?.(found.rel, found.stat)) throw new BoxError(`${dest} is on a filesystem of the kernel's (/proc, /sys): box does not copy into it`);
    return unpackInto(src, side.dirAt(found.rel), owner);
  }
  const land = landing(src, dest, found ? { isDir: found.stat.type === "dir" } : undefined);
  let at: Buffer;
  let as = land.as;
  if (!land.intoParent) at = found!.rel;
  else if (found) {
    // A file there, maybe through a link: replaced where the link led, inside the container.
    at = parentOf(found.rel);
    as = found.rel.subarray(at.length === 0 ? 0 : at.length + 1);
  } else {
    const parent = resolvePath(side.tree, bytes(dirname(dest.replace(/\/+$/, "")) || "/"), true);
    if (!parent || parent.stat.type !== "dir") throw new BoxError(`the directory ${dirname(dest)} does not exist in the container`);
    at = parent.rel;
  }
  const st = side.tree.lstat(at);
  if (st && side.tree.skip?.(at, st)) throw new BoxError(`${dest} is on a filesystem of the kernel's (/proc, /sys): box does not copy into it`);
  await unpackInto(entries(src, as, opts.warn), side.dirAt(at), owner);
}

function parentOf(rel: Buffer): Buffer {
  const i = rel.lastIndexOf(SLASH);
  return i < 0 ? Buffer.alloc(0) : rel.subarray(0, i);
}
