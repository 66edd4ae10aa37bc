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
 * The last component of a path is never followed by the calls that change things: chown, chmod,
 * utimes and setxattr act on a symbolic link itself or refuse it (chmod), mkdir/symlink/mknod/link
 * fail on an existing name, createFile never opens through a link. Only openFile/readFile/stat in
 * "in-root" mode follow a final link, inside the root.
 *
 * The parent of the last component is opened first (openat2, O_PATH), then the *at call works on
 * that fd and a single name; so no path walk after the check can be redirected. Errors are FsError,
 * carrying the errno, the operation and the path relative to the Dir.
 *
 * Modes given to mkdir, createFile and mknod are filtered by the process umask, as with mkdir(2);
 * chmod afterwards for exact bits (setuid included).
 */
import { closeSync, fchmodSync, fchownSync, fsyncSync, readdirSync, readSync, writeSync } from "node:fs";
import { constants } from "node:os";
import {
  AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, cpath, errno, libc, makedev, O, RENAME_NOREPLACE, RESOLVE, S, strerror, SYS_openat2,
} from "./libc";

export type Resolve = "beneath" | "in-root";
/** A path relative to a Dir: a string (UTF-8) or the exact bytes (names need not be UTF-8). */
export type PathArg = string | Uint8Array;
export type FileType = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";

export interface Time {
  sec: number;
  nsec: number;
}

export interface Stat {
  type: FileType;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: bigint;
  /** The device the file is on, as major:minor. */
  dev: string;
  /** The device a char/block node stands for. */
  rdevMajor: number;
  rdevMinor: number;
  atime: Time;
  mtime: Time;
  /** The mount it is on (0n on kernels before 5.8). */
  mntId: bigint;
}

const EINVAL = 22, ENOENT = 2, EISDIR = 21, ELOOP = 40, EFBIG = 27, ENODATA = 61, EXDEV = 18, ENOTEMPTY = 39, ENOTDIR = 20;

/** A failed file operation: errno, what was done, and on which path (relative to the Dir). */
export class FsError extends Error {
  readonly code: string;
  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
    reason?: string,
  ) {
    super(`cannot ${op} "${path}": ${reason ?? describeErrno(errno)}`);
    this.name = "FsError";
    this.code = errnoName(errno);
  }
}

// node:util and node:crypto cost Bun several ms to load; errno names come from node:os instead.
let names: Map<number, string> | undefined;

export function errnoName(n: number): string {
  names ??= new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));
  return names.get(n) ?? `E${n}`;
}

function describeErrno(n: number): string {
  const raw = strerror(n);
  const text = raw.charAt(0).toLowerCase() + raw.slice(1);
  return n === ELOOP ? `${text} (a symbolic link is in the way)` : n === EXDEV ? `${text} (it leads outside)` : text;
}

export function isFsError(err: unknown, ...codes: string[]): err is FsError {
  return err instanceof FsError && (codes.length === 0 || codes.includes(err.code));
}

const SLASH = 0x2f;

function bytes(p: PathArg): Buffer {
  const b = typeof p === "string" ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  if (b.includes(0)) throw new FsError("use", show(b), EINVAL, "the path contains a NUL byte");
  return b;
}

/** A path as a person reads it (bytes that are not UTF-8 shown as U+FFFD). */
export function show(p: PathArg): string {
  return typeof p === "string" ? p : Buffer.from(p).toString("utf8");
}

/** Splits "a/b/c/" into parent "a/b" and name "c". The name is never "", "." or "..". */
function splitLast(op: string, b: Buffer): { parent: Buffer; name: Buffer } {
  let end = b.length;
  while (end > 1 && b[end - 1] === SLASH) end--;
  const slash = b.lastIndexOf(SLASH, end - 1);
  const name = b.subarray(slash + 1, end);
  const parent = slash < 0 ? Buffer.alloc(0) : slash === 0 ? Buffer.from("/") : b.subarray(0, slash);
  if (name.length === 0 || (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)) {
    throw new FsError(op, show(b), EINVAL, `"${show(name)}" cannot be the last component`);
  }
  return { parent, name };
}

/** "" and "." and "./" name the directory itself. */
function isSelf(b: Buffer): boolean {
  for (const c of b) if (c !== SLASH && c !== 0x2e) return false;
  return b.length === 0 || !b.includes(Buffer.from(".."));
}

function typeOf(mode: number): FileType {
  switch (mode & S.IFMT) {
    case S.IFREG: return "file";
    case S.IFDIR: return "dir";
    case S.IFLNK: return "symlink";
    case S.IFCHR: return "char";
    case S.IFBLK: return "block";
    case S.IFIFO: return "fifo";
    default: return "socket";
  }
}

const TYPE_BITS: Record<"char" | "block" | "fifo", number> = { char: S.IFCHR, block: S.IFBLK, fifo: S.IFIFO };

function statxBuffer(): { buf: Buffer; view: DataView } {
  const buf = Buffer.alloc(256);
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) };
}

function decodeStatx(view: DataView): Stat {
  const ts = (off: number): Time => ({ sec: Number(view.getBigInt64(off, true)), nsec: view.getUint32(off + 8, true) });
  const mode = view.getUint16(28, true);
  const mask = view.getUint32(0, true);
  return {
    type: typeOf(mode),
    mode: mode & 0o7777,
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    size: Number(view.getBigUint64(40, true)),
    nlink: view.getUint32(16, true),
    ino: view.getBigUint64(32, true),
    atime: ts(64),
    mtime: ts(112),
    rdevMajor: view.getUint32(128, true),
    rdevMinor: view.getUint32(132, true),
    dev: `${view.getUint32(136, true)}:${view.getUint32(140, true)}`,
    mntId: mask & 0x1000 ? view.getBigUint64(144, true) : 0n,
  };
}

const STATX_BASIC_STATS = 0x7ff, STATX_MNT_ID = 0x1000;

function closeFd(fd: number): void {
  libc().close(fd);
}

const procFd = (fd: number, rest?: Buffer): Buffer =>
  rest ? Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), rest, Buffer.from([0])]) : Buffer.from(`/proc/self/fd/${fd}\0`);

export class Dir {
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
    const fd = openat2(AT_FDCWD, bytes(trustedHostPath), O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0, "open", trustedHostPath);
    return new Dir(fd, resolve, trustedHostPath);
  }

  private get flags(): number {
    return this.resolve === "beneath" ? RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS : RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
  }

  private live(): void {
    if (this.closed) throw new Error(`the directory ${this.where} was used after close()`);
  }

  /** openat2 relative to this directory, with its resolution mode. */
  private open2(rel: Buffer, flags: number, mode: number, op: string): number {
    this.live();
    return openat2(this.fd, rel, flags | O.CLOEXEC, mode, this.flags, op, show(rel));
  }

  /** Runs fn with an fd on the parent of rel's last component, and that component. */
  private inParent<T>(op: string, rel: PathArg, fn: (pfd: number, name: Buffer, path: string) => T): T {
    const b = bytes(rel);
    const { parent, name } = splitLast(op, b);
    const cname = cpath(name);
    if (parent.length === 0) {
      this.live();
      return fn(this.fd, cname, show(b));
    }
    const pfd = this.open2(parent, O.PATH | O.DIRECTORY, 0, op);
    try {
      return fn(pfd, cname, show(b));
    } finally {
      closeFd(pfd);
    }
  }

  /** An O_PATH fd on rel itself (a symbolic link itself, never followed); the caller closes it. */
  private openPath(op: string, rel: PathArg): number {
    const b = bytes(rel);
    return isSelf(b) ? this.open2(Buffer.from("."), O.PATH | O.NOFOLLOW, 0, op) : this.open2(b, O.PATH | O.NOFOLLOW, 0, op);
  }

  /** A subdirectory as a Dir of its own (same mode; in "in-root" mode it becomes the new root). */
  openDir(rel: PathArg): Dir {
    const b = bytes(rel);
    const fd = this.open2(isSelf(b) ? Buffer.from(".") : b, O.PATH | O.DIRECTORY, 0, "open the directory");
    return new Dir(fd, this.resolve, `${this.where}/${show(b)}`);
  }

  mkdir(rel: PathArg, mode = 0o755): void {
    this.inParent("create the directory", rel, (pfd, name, path) => {
      if (libc().mkdirat(pfd, name, mode) !== 0) throw new FsError("create the directory", path, errno());
    });
  }

  /** Makes rel and any missing parents (existing ones must be directories, never links). */
  mkdirs(rel: PathArg, mode = 0o755): void {
    this.live();
    const parts = bytes(rel).toString("latin1").split("/").filter((p) => p !== "" && p !== ".");
    let fd = this.fd;
    let done = "";
    try {
      for (const part of parts) {
        const name = Buffer.from(part, "latin1");
        done = done ? `${done}/${part}` : part;
        if (part === "..") throw new FsError("create the directory", show(Buffer.from(done, "latin1")), EINVAL, "'..' is not allowed here");
        const c = cpath(name);
        if (libc().mkdirat(fd, c, mode) !== 0 && errno() !== 17 /* EEXIST */) {
          throw new FsError("create the directory", show(Buffer.from(done, "latin1")), errno());
        }
        const next = openat2(fd, name, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, this.flags, "create the directory", show(Buffer.from(done, "latin1")));
        if (fd !== this.fd) closeFd(fd);
        fd = next;
      }
    } finally {
      if (fd !== this.fd) closeFd(fd);
    }
  }

  /**
   * Creates a regular file and returns an fd open for writing (the caller closes it). Exclusive by
   * default: an existing name, a symbolic link included, is an error. With replace, an existing
   * regular file is truncated (a link still refuses).
   */
  createFile(rel: PathArg, mode = 0o644, opts: { replace?: boolean } = {}): number {
    const b = bytes(rel);
    splitLast("create the file", b);
    const flags = O.WRONLY | O.CREAT | O.NOFOLLOW | O.NOCTTY | (opts.replace ? O.TRUNC : O.EXCL);
    const fd = this.open2(b, flags, mode, "create the file");
    if (opts.replace) {
      const st = fstatFd(fd, "create the file", show(b));
      if (st.type !== "file") {
        closeFd(fd);
        throw new FsError("create the file", show(b), EINVAL, "it exists and is not a regular file");
      }
    }
    return fd;
  }

  /**
   * Opens a regular file for reading and returns the fd (the caller closes it). Anything else (a
   * device, a fifo, a directory) is refused without being opened for reading. In "in-root" mode a
   * final symbolic link is followed inside the root; in "beneath" mode it is refused.
   */
  openFile(rel: PathArg): number {
    const b = bytes(rel);
    const follow = this.resolve === "in-root" ? 0 : O.NOFOLLOW;
    const pathFd = this.open2(b, O.PATH | follow, 0, "open the file");
    try {
      const st = fstatFd(pathFd, "open the file", show(b));
      if (st.type === "symlink") throw new FsError("open the file", show(b), ELOOP);
      if (st.type !== "file") throw new FsError("open the file", show(b), EINVAL, `it is a ${st.type === "dir" ? "directory" : st.type}, not a regular file`);
      // Reopen the very inode the O_PATH fd holds, for reading.
      return openat2(AT_FDCWD, procFd(pathFd).subarray(0, -1), O.RDONLY | O.CLOEXEC | O.NOCTTY, 0, 0, "open the file", show(b));
    } finally {
      closeFd(pathFd);
    }
  }

  /** A whole regular file, refused (EFBIG) when larger than cap bytes. */
  readFile(rel: PathArg, cap: number): Buffer {
    const fd = this.openFile(rel);
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const buf = Buffer.allocUnsafe(Math.min(Math.max(cap + 1 - total, 1), 1 << 16));
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        if (total > cap) throw new FsError("read", show(rel), EFBIG, `it is larger than ${cap} bytes`);
        chunks.push(buf.subarray(0, n));
      }
      return Buffer.concat(chunks);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Replaces rel with data so that readers see the old content or the new, never a part: a scratch
   * file "rel.tmp-XXXX" next to it, every byte written (short writes continued), fsync'd when
   * durable, then renamed over rel. A failure removes the scratch file.
   */
  writeFileAtomic(rel: PathArg, data: string | Uint8Array, mode = 0o644, durable = true): void {
    const b = bytes(rel);
    const tmp = Buffer.concat([b, Buffer.from(`.tmp-${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}`)]);
    const fd = this.createFile(tmp, mode);
    try {
      writeAll(fd, typeof data === "string" ? Buffer.from(data) : data);
      if (durable) fsyncSync(fd);
      closeSync(fd);
      this.rename(tmp, b);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      try {
        this.unlink(tmp);
      } catch {
        /* never made it, or renamed */
      }
      throw err;
    }
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
      if (libc().mknodat(pfd, name, TYPE_BITS[type] | (mode & 0o7777), makedev(major, minor)) !== 0) {
        throw new FsError("create the device node", path, errno());
      }
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
    const b = bytes(rel);
    const fd = this.open2(isSelf(b) ? Buffer.from(".") : b, O.PATH, 0, "stat");
    try {
      return fstatFd(fd, "stat", show(b));
    } finally {
      closeFd(fd);
    }
  }

  readlink(rel: PathArg): Buffer {
    return this.inParent("read the symbolic link", rel, (pfd, name, path) => {
      const buf = Buffer.allocUnsafe(4097);
      const n = Number(libc().readlinkat(pfd, name, buf, 4097));
      if (n < 0) throw new FsError("read the symbolic link", path, errno());
      if (n > 4096) throw new FsError("read the symbolic link", path, EINVAL, "its target is longer than 4096 bytes");
      return Buffer.from(buf.subarray(0, n));
    });
  }

  /** Owner and group of rel itself (a symbolic link's own, never its target's). */
  chown(rel: PathArg, uid: number, gid: number): void {
    const b = bytes(rel);
    if (isSelf(b)) {
      this.live();
      if (libc().fchownat(this.fd, Buffer.from("\0"), uid, gid, AT_EMPTY_PATH) !== 0) throw new FsError("change the owner of", show(b), errno());
      return;
    }
    this.inParent("change the owner of", b, (pfd, name, path) => {
      if (libc().fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) !== 0) throw new FsError("change the owner of", path, errno());
    });
  }

  /** Mode bits of rel, setuid included; a symbolic link is refused (ELOOP), never followed. */
  chmod(rel: PathArg, mode: number): void {
    const fd = this.openPath("change the mode of", rel);
    try {
      const st = fstatFd(fd, "change the mode of", show(rel));
      if (st.type === "symlink") throw new FsError("change the mode of", show(rel), ELOOP, "it is a symbolic link");
      // The O_PATH fd pins the inode; its /proc link reaches exactly that inode.
      if (libc().fchmodat(AT_FDCWD, procFd(fd), mode & 0o7777, 0) !== 0) throw new FsError("change the mode of", show(rel), errno());
    } finally {
      closeFd(fd);
    }
  }

  /** Access and modification times of rel itself (a symbolic link's own). */
  utimes(rel: PathArg, atime: Time, mtime: Time): void {
    const ts = new BigInt64Array([BigInt(atime.sec), BigInt(atime.nsec), BigInt(mtime.sec), BigInt(mtime.nsec)]);
    const b = bytes(rel);
    if (isSelf(b)) {
      this.live();
      if (libc().utimensat(AT_FDCWD, procFd(this.fd), ts, 0) !== 0) throw new FsError("set the times of", show(b), errno());
      return;
    }
    this.inParent("set the times of", b, (pfd, name, path) => {
      if (libc().utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) !== 0) throw new FsError("set the times of", path, errno());
    });
  }

  /** An extended attribute of rel itself (a symbolic link's own). */
  setxattr(rel: PathArg, name: string, value: Uint8Array): void {
    const b = bytes(rel);
    const key = cpath(name);
    const val = value.length > 0 ? value : new Uint8Array(1);
    if (isSelf(b)) {
      this.live();
      if (libc().setxattr(procFd(this.fd), key, val, value.length, 0) !== 0) throw new FsError(`set ${name} on`, show(b), errno());
      return;
    }
    this.inParent(`set ${name} on`, b, (pfd, cname, path) => {
      if (libc().lsetxattr(procFd(pfd, cname.subarray(0, -1)), key, val, value.length, 0) !== 0) throw new FsError(`set ${name} on`, path, errno());
    });
  }

  /** An extended attribute of rel itself, or undefined when it has none of that name. */
  getxattr(rel: PathArg, name: string): Buffer | undefined {
    const b = bytes(rel);
    const key = cpath(name);
    const buf = Buffer.allocUnsafe(65536);
    const get = (n: number, path: string) => {
      if (n >= 0) return Buffer.from(buf.subarray(0, n));
      const e = errno();
      if (e === ENODATA) return undefined;
      throw new FsError(`read ${name} of`, path, e);
    };
    if (isSelf(b)) {
      this.live();
      return get(Number(libc().getxattr(procFd(this.fd), key, buf, buf.length)), show(b));
    }
    return this.inParent(`read ${name} of`, b, (pfd, cname, path) => get(Number(libc().lgetxattr(procFd(pfd, cname.subarray(0, -1)), key, buf, buf.length)), path));
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
    const b = bytes(rel);
    const fd = this.open2(isSelf(b) ? Buffer.from(".") : b, O.PATH | O.DIRECTORY, 0, "list");
    try {
      return readNames(fd, show(b)).map((raw) => ({ name: raw.toString("utf8"), raw }));
    } finally {
      closeFd(fd);
    }
  }

  /**
   * Removes rel and everything under it: unlinkat relative to directory fds at every depth,
   * never following a symbolic link (a link is removed, not its target), never crossing into
   * another mount (a mount point inside is an error: EXDEV, and nothing past it is touched).
   * A missing rel is not an error. Depth is unlimited: only one directory fd is held at a time
   * besides the top, and the way back up is checked by inode.
   */
  removeTree(rel: PathArg): void {
    const b = bytes(rel);
    const { parent, name } = splitLast("remove", b);
    const top = show(b);
    let pfd: number;
    try {
      pfd = parent.length === 0 ? this.fd : this.open2(parent, O.PATH | O.DIRECTORY, 0, "remove");
    } catch (err) {
      if (isFsError(err, "ENOENT")) return;
      throw err;
    }
    try {
      const cname = cpath(name);
      if (libc().unlinkat(pfd, cname, 0) === 0) return;
      const e = errno();
      if (e === ENOENT) return;
      if (e !== EISDIR) throw new FsError("remove", top, e);
      const topFd = openat2(pfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, RESOLVE.NO_SYMLINKS | RESOLVE.BENEATH | RESOLVE.NO_XDEV, "remove", top);
      const home = fstatFd(topFd, "remove", top);
      try {
        emptyTree(topFd, home, top);
      } finally {
        closeFd(topFd);
      }
      if (libc().unlinkat(pfd, cname, AT_REMOVEDIR) !== 0 && errno() !== ENOENT) throw new FsError("remove", top, errno());
    } finally {
      if (pfd !== this.fd) closeFd(pfd);
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
  const parent = slash <= 0 ? "/" : path.slice(0, slash);
  let dir: Dir;
  try {
    dir = Dir.open(parent);
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

/**
 * Metadata of a file through an fd the caller opened (a file just created by createFile): no path
 * is looked up, so nothing can be redirected.
 */
export const byFd = {
  chown(fd: number, uid: number, gid: number): void {
    fchownSync(fd, uid, gid);
  },
  chmod(fd: number, mode: number): void {
    fchmodSync(fd, mode & 0o7777);
  },
  utimes(fd: number, atime: Time, mtime: Time): void {
    const ts = new BigInt64Array([BigInt(atime.sec), BigInt(atime.nsec), BigInt(mtime.sec), BigInt(mtime.nsec)]);
    if (libc().futimens(fd, ts) !== 0) throw new FsError("set the times of", `fd ${fd}`, errno());
  },
  setxattr(fd: number, name: string, value: Uint8Array): void {
    if (libc().fsetxattr(fd, cpath(name), value.length > 0 ? value : new Uint8Array(1), value.length, 0) !== 0) {
      throw new FsError(`set ${name} on`, `fd ${fd}`, errno());
    }
  },
};

/** Writes all of data to fd, continuing after short writes. */
export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const n = writeSync(fd, data, off, data.length - off);
    if (n <= 0) throw new Error(`a write returned ${n}`);
    off += n;
  }
}

function openat2(dirfd: number, path: Buffer, flags: number, mode: number, resolve: number, op: string, shown: string): number {
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  const fd = libc().syscall(SYS_openat2, dirfd, cpath(path), how, 24);
  if (fd < 0) throw new FsError(op, shown, errno());
  return Number(fd);
}

function statxAt(dirfd: number, cname: Buffer, flags: number, op: string, shown: string): Stat {
  const { buf, view } = statxBuffer();
  if (libc().statx(dirfd, cname, flags, STATX_BASIC_STATS | STATX_MNT_ID, buf) !== 0) throw new FsError(op, shown, errno());
  return decodeStatx(view);
}

function fstatFd(fd: number, op: string, shown: string): Stat {
  return statxAt(fd, Buffer.from("\0"), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, op, shown);
}

/** The names in the directory an fd (O_PATH is enough) refers to. */
function readNames(fd: number, shown: string): Buffer[] {
  try {
    return readdirSync(`/proc/self/fd/${fd}`, { encoding: "buffer" });
  } catch (err) {
    const e = -(Number((err as { errno?: number }).errno) || -EINVAL);
    throw new FsError("list", shown, Math.abs(e));
  }
}

/**
 * Empties the directory open as topFd. Iterative, with only the top and the current directory
 * open: descending opens the child by name (no link followed, no mount crossed), ascending opens
 * ".." and checks it is the directory it came from (device and inode), so a rename meanwhile stops
 * the removal instead of sending it elsewhere.
 */
function emptyTree(topFd: number, home: Stat, top: string): void {
  interface Level { fd: number; ino: bigint; dev: string; names: Buffer[]; name: Buffer; path: string }
  const levels: Level[] = [{ fd: topFd, ino: home.ino, dev: home.dev, names: readNames(topFd, top), name: Buffer.alloc(0), path: top }];
  const c = libc();
  try {
    while (levels.length > 0) {
      const cur = levels[levels.length - 1]!;
      const raw = cur.names.pop();
      if (raw === undefined) {
        levels.pop();
        if (levels.length === 0) break;
        // Back up to the parent (reopened unless it is the top), then remove the now empty directory.
        const parent = levels[levels.length - 1]!;
        if (parent.fd < 0) {
          const up = openat2(cur.fd, Buffer.from(".."), O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, 0, "remove", parent.path);
          const st = fstatFd(up, "remove", parent.path);
          if (st.ino !== parent.ino || st.dev !== parent.dev) {
            closeFd(up);
            throw new FsError("remove", parent.path, EINVAL, "it was moved during the removal");
          }
          parent.fd = up;
        }
        closeFd(cur.fd);
        cur.fd = -1;
        if (c.unlinkat(parent.fd, cpath(cur.name), AT_REMOVEDIR) !== 0 && errno() !== ENOENT) throw new FsError("remove", cur.path, errno());
        continue;
      }
      const name = cpath(raw);
      const path = `${cur.path}/${show(raw)}`;
      if (c.unlinkat(cur.fd, name, 0) === 0) continue;
      const e = errno();
      if (e === ENOENT) continue;
      if (e !== EISDIR) throw new FsError("remove", path, e);
      if (c.unlinkat(cur.fd, name, AT_REMOVEDIR) === 0) continue; // an empty directory
      const e2 = errno();
      if (e2 === 16 /* EBUSY: a mount point */) throw new FsError("remove", path, EXDEV, "it is a mount point: not removed");
      if (e2 !== ENOTEMPTY && e2 !== 17) throw new FsError("remove", path, e2);
      const child = openat2(cur.fd, raw, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, RESOLVE.NO_SYMLINKS | RESOLVE.BENEATH | RESOLVE.NO_XDEV, "remove", path);
      const st = fstatFd(child, "remove", path);
      if (st.dev !== home.dev || (home.mntId !== 0n && st.mntId !== home.mntId)) {
        closeFd(child);
        throw new FsError("remove", path, EXDEV, "it is on another mount: not removed");
      }
      // Only the top stays open above the current directory; the rest are reopened through "..".
      if (cur.fd !== topFd) {
        closeFd(cur.fd);
        cur.fd = -1;
      }
      levels.push({ fd: child, ino: st.ino, dev: st.dev, names: readNames(child, path), name: raw, path });
    }
  } finally {
    for (const l of levels) if (l.fd >= 0 && l.fd !== topFd) closeFd(l.fd);
  }
}

export { ENOENT, ENOTDIR };
