/**
 * File operations relative to a directory fd that cannot be tricked into leaving that directory.
 *
 * A Dir is an O_PATH fd on a directory the caller trusts (a layer being unpacked, a container's
 * root, a state directory). Every path given to its methods is resolved by the kernel with
 * openat2(2), in one of two modes:
 *   - "beneath" (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): a symbolic link
 *     anywhere in the path is refused (ELOOP), and so is anything that would leave the directory
 *     (EXDEV). For unpacking archives and for box's own state.
 *   - "in-root" (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): symbolic links are followed as if the
 *     directory were `/` (an absolute link or `..` cannot climb out). For reading a container's or
 *     an image's files (/etc/passwd) and, later, `box cp`.
 * The last component is never followed by the calls that change things: chown, chmod, utimes and
 * setxattr act on a symbolic link itself or refuse it (chmod), mkdir/symlink/mknod/link fail on an
 * existing name, createFile never opens through a link. Only openFile/readFile/stat in "in-root"
 * mode follow a final link, inside the root. The parent of the last component is opened first
 * (openat2, O_PATH), then the *at call works on that fd and one name, so no path walk after the
 * check can be redirected. Errors are FsError: errno, operation, path relative to the Dir.
 * Modes given to mkdir, createFile and mknod pass the umask, as with mkdir(2): chmod for exact bits.
 */
import { E, FsError, isFsError } from "./errors";
import { AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, cpath, errno, libc, makedev, O, RENAME_NOREPLACE, RESOLVE } from "./libc";
import * as files from "./files";
import * as meta from "./meta";
import { bytes, isSelf, show, splitLast, type PathArg } from "./path";
import { removeAt } from "./remove";
import { fstatFd, statxAt, TYPE_BITS, type Stat, type Time } from "./stat";
import { closeFd, openat2, readNames } from "./sys";

export { FsError, isFsError, errnoName } from "./errors";
export { show, type PathArg } from "./path";
export type { FileType, Stat, Time } from "./stat";
export { byFd, writeAll } from "./sys";

export type Resolve = "beneath" | "in-root";

export class Dir implements files.Rel {
  private closed = false;

  private constructor(
    /** An O_PATH fd on the directory. */
    readonly fd: number,
    readonly resolve: Resolve,
    /** For messages only: where the directory is on the host. */
    readonly where: string,
  ) {}

  /** Opens a directory the caller trusts by its host path (symbolic links in it are followed). */
  static open(trustedHostPath: string, resolve: Resolve = "beneath"): Dir {
    return new Dir(openat2(AT_FDCWD, bytes(trustedHostPath), O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0, "open", trustedHostPath), resolve, trustedHostPath);
  }

  /** Takes over an fd on a directory (O_PATH is enough: a detached mount from fsmount, say). */
  static adopt = (fd: number, resolve: Resolve, where: string): Dir => new Dir(fd, resolve, where);

  /** The same directory as a new Dir of the other mode (this one stays open). */
  reopen = (resolve: Resolve): Dir => new Dir(this.openRel(Buffer.alloc(0), O.PATH | O.DIRECTORY, 0, "open"), resolve, this.where);

  /** The openat2 resolve flags of this Dir's mode. */
  get resolveFlags(): number {
    return this.resolve === "beneath" ? RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS : RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
  }

  live(): void {
    if (this.closed) throw new Error(`the directory ${this.where} was used after close()`);
  }

  /** openat2 relative to this directory, with its resolution mode ("" and "." are the directory). */
  openRel(rel: Buffer, flags: number, mode: number, op: string): number {
    this.live();
    return openat2(this.fd, isSelf(rel) ? Buffer.from(".") : rel, flags | O.CLOEXEC, mode, this.resolveFlags, op, show(rel));
  }

  /** Runs fn with an fd on the parent of rel's last component, and that component (NUL-terminated). */
  inParent<T>(op: string, rel: PathArg, fn: (pfd: number, cname: Buffer, path: string) => T): T {
    const b = bytes(rel);
    const { parent, name } = splitLast(op, b);
    if (parent.length === 0) {
      this.live();
      return fn(this.fd, cpath(name), show(b));
    }
    const pfd = this.openRel(parent, O.PATH | O.DIRECTORY, 0, op);
    try {
      return fn(pfd, cpath(name), show(b));
    } finally {
      closeFd(pfd);
    }
  }

  /** An O_PATH fd on rel itself (a symbolic link itself, never followed); the caller closes it. */
  openPath(op: string, rel: PathArg): number {
    return this.openRel(bytes(rel), O.PATH | O.NOFOLLOW, 0, op);
  }

  /** A subdirectory as a Dir of its own (same mode; in "in-root" mode it becomes the new root). */
  openDir(rel: PathArg): Dir {
    return new Dir(this.openRel(bytes(rel), O.PATH | O.DIRECTORY, 0, "open the directory"), this.resolve, `${this.where}/${show(rel)}`);
  }

  mkdir(rel: PathArg, mode = 0o755): void {
    this.inParent("create the directory", rel, (pfd, name, path) => {
      if (libc().mkdirat(pfd, name, mode) !== 0) throw new FsError("create the directory", path, errno());
    });
  }

  /** Makes rel and any missing parents (existing ones must be directories, never links). */
  mkdirs(rel: PathArg, mode = 0o755): void {
    files.mkdirs(this, rel, mode);
  }

  /**
   * Creates a regular file and returns an fd open for writing (the caller closes it). Exclusive by
   * default: an existing name, a symbolic link included, is an error. With replace, an existing
   * regular file is truncated (a link still refuses).
   */
  createFile(rel: PathArg, mode = 0o644, opts: { replace?: boolean } = {}): number {
    const b = bytes(rel);
    splitLast("create the file", b);
    const fd = this.openRel(b, O.WRONLY | O.CREAT | O.NOFOLLOW | O.NOCTTY | (opts.replace ? O.TRUNC : O.EXCL), mode, "create the file");
    if (opts.replace && fstatFd(fd, "create the file", show(b)).type !== "file") {
      closeFd(fd);
      throw new FsError("create the file", show(b), E.EINVAL, "it exists and is not a regular file");
    }
    return fd;
  }

  /** Opens a regular file for reading (the caller closes the fd); anything else is refused unopened.
   * In "in-root" mode a final symbolic link is followed inside the root; "beneath" refuses it. */
  openFile(rel: PathArg): number {
    return files.openFile(this, rel);
  }

  /** A whole regular file, refused (EFBIG) when larger than cap bytes. */
  readFile(rel: PathArg, cap: number): Buffer {
    return meta.readAllFd(this.openFile(rel), cap, show(rel));
  }

  /** Replaces rel with data, readers seeing the old content or the new: a scratch file beside it,
   * written whole, fsync'd when durable, renamed over rel. */
  writeFileAtomic(rel: PathArg, data: string | Uint8Array, mode = 0o644, durable = true): void {
    files.writeFileAtomic(this, rel, data, mode, durable);
  }

  symlink(target: PathArg, rel: PathArg): void {
    const t = cpath(bytes(target));
    this.inParent("create the symbolic link", rel, (pfd, name, path) => {
      if (libc().symlinkat(t, pfd, name) !== 0) throw new FsError("create the symbolic link", path, errno());
    });
  }

  /** A hard link newRel to oldRel (oldRel itself, even a symbolic link: never followed). */
  link(oldRel: PathArg, newRel: PathArg): void {
    this.inParent("link", oldRel, (opfd, oname) =>
      this.inParent("create the hard link", newRel, (npfd, nname, path) => {
        if (libc().linkat(opfd, oname, npfd, nname, 0) !== 0) throw new FsError("create the hard link", path, errno());
      }),
    );
  }

  /** A device node or fifo; never opened. */
  mknod(rel: PathArg, type: "char" | "block" | "fifo", mode: number, major = 0, minor = 0): void {
    this.inParent("create the device node", rel, (pfd, name, path) => {
      if (libc().mknodat(pfd, name, TYPE_BITS[type] | (mode & 0o7777), makedev(major, minor)) !== 0) throw new FsError("create the device node", path, errno());
    });
  }

  /** What rel is, without following a final symbolic link. */
  lstat(rel: PathArg): Stat {
    const b = bytes(rel);
    if (isSelf(b)) {
      this.live();
      return statxAt(this.fd, Buffer.from("\0"), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, "stat", show(b));
    }
    return this.inParent("stat", b, (pfd, name, path) => statxAt(pfd, name, AT_SYMLINK_NOFOLLOW, "stat", path));
  }

  /** lstat, or undefined when rel (or a parent of it) does not exist. */
  tryLstat(rel: PathArg): Stat | undefined {
    try {
      return this.lstat(rel);
    } catch (err) {
      if (isFsError(err, "ENOENT", "ENOTDIR")) return undefined;
      throw err;
    }
  }

  /** What rel is, a final symbolic link followed ("in-root": inside the root; "beneath": refused). */
  stat(rel: PathArg): Stat {
    const fd = this.openRel(bytes(rel), O.PATH, 0, "stat");
    try {
      return fstatFd(fd, "stat", show(rel));
    } finally {
      closeFd(fd);
    }
  }

  readlink(rel: PathArg): Buffer {
    return files.readlink(this, rel);
  }

  /** Owner and group of rel itself (a symbolic link's own, never its target's). */
  chown(rel: PathArg, uid: number, gid: number): void {
    meta.chown(this, rel, uid, gid);
  }

  /** Mode bits of rel, setuid included; a symbolic link is refused (ELOOP), never followed. */
  chmod(rel: PathArg, mode: number): void {
    meta.chmod(this, rel, mode);
  }

  /** Access and modification times of rel itself (a symbolic link's own). */
  utimes(rel: PathArg, atime: Time, mtime: Time): void {
    meta.utimes(this, rel, atime, mtime);
  }

  /** An extended attribute of rel itself (a symbolic link's own). */
  setxattr(rel: PathArg, name: string, value: Uint8Array): void {
    meta.setxattr(this, rel, name, value);
  }

  /** The extended attributes of rel itself (a symbolic link's own), names and values. */
  xattrs = (rel: PathArg): Array<[string, Buffer]> => meta.xattrs(this, rel);

  /** An extended attribute of rel itself, or undefined when it has none of that name. */
  getxattr(rel: PathArg, name: string): Buffer | undefined {
    return meta.getxattr(this, rel, name);
  }

  unlink(rel: PathArg): void {
    this.inParent("remove", rel, (pfd, name, path) => {
      if (libc().unlinkat(pfd, name, 0) !== 0) throw new FsError("remove", path, errno());
    });
  }

  rmdir(rel: PathArg): void {
    this.inParent("remove the directory", rel, (pfd, name, path) => {
      if (libc().unlinkat(pfd, name, AT_REMOVEDIR) !== 0) throw new FsError("remove the directory", path, errno());
    });
  }

  /** Renames within this directory; with noReplace an existing newRel is an error (EEXIST). */
  rename(oldRel: PathArg, newRel: PathArg, opts: { noReplace?: boolean } = {}): void {
    this.inParent("rename", oldRel, (opfd, oname) =>
      this.inParent("rename to", newRel, (npfd, nname, path) => {
        if (libc().renameat2(opfd, oname, npfd, nname, opts.noReplace ? RENAME_NOREPLACE : 0) !== 0) throw new FsError(`rename "${show(oldRel)}" to`, path, errno());
      }),
    );
  }

  /** The names in a directory (exact bytes in raw, as text in name), without . and .. */
  list(rel: PathArg = ""): Array<{ name: string; raw: Buffer }> {
    const fd = this.openRel(bytes(rel), O.PATH | O.DIRECTORY, 0, "list");
    try {
      return readNames(fd, show(rel)).map((raw) => ({ name: raw.toString("utf8"), raw }));
    } finally {
      closeFd(fd);
    }
  }

  /**
   * Removes rel and everything under it: unlinkat relative to directory fds at every depth, never
   * following a symbolic link (a link is removed, not its target), never crossing into another
   * mount (a mount point inside is an error, EXDEV, and nothing past it is touched). A missing rel
   * is not an error. Depth is unlimited: one directory fd is held at a time besides the top.
   */
  removeTree(rel: PathArg): void {
    try {
      this.inParent("remove", rel, (pfd, cname, path) => removeAt(pfd, cname.subarray(0, -1), path));
    } catch (err) {
      if (!isFsError(err, "ENOENT")) throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
  }
}

/**
 * Removes a host path and everything under it with Dir.removeTree: the parent directory is
 * trusted, nothing below it is (links are removed, never followed; mounts are never crossed).
 */
export function removeHostTree(path: string): void {
  const slash = path.lastIndexOf("/");
  let dir: Dir;
  try {
    dir = Dir.open(slash <= 0 ? "/" : path.slice(0, slash));
  } catch (err) {
    if (isFsError(err, "ENOENT")) return;
    throw err;
  }
  try {
    dir.removeTree(path.slice(slash + 1));
  } finally {
    dir.close();
  }
}
