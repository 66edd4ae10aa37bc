/**
 * Unpacks a layer (or a root filesystem tarball) into a directory, exactly and safely.
 *
 * Exactly: symlink targets as written (absolute ones too: /bin/sh -> /bin/busybox), hard links,
 * modes with setuid bits, owners, times to the nanosecond, device nodes, fifos, extended
 * attributes (file capabilities among them), names byte for byte.
 *
 * Safely, whatever the archive holds: every operation goes through src/fs's Dir in "beneath" mode,
 * relative to directory fds, so no path can leave the destination: absolute names and `..` are
 * refused; a path through a symbolic link (made earlier by this archive) is refused by the kernel
 * (openat2 RESOLVE_NO_SYMLINKS) and named; hard links resolve their target the same way; metadata
 * is applied to a file through the fd that created it, and to a directory (modes and times wait
 * until the end, so a read-only directory cannot stop its own contents) only if the very same
 * directory (device and inode) is still there, never through a link that replaced it; device
 * nodes are created and never opened. Data is streamed: a layer is never held in memory.
 *
 * Layer semantics (OCI image spec, "Representing changes"): `.wh.NAME` deletes NAME of lower
 * layers and becomes an overlay whiteout (a character device 0:0); `.wh..wh..opq` makes its
 * directory opaque (xattr trusted.overlay.opaque=y). An entry of the same layer wins over a
 * whiteout of its name. trusted.overlay.* attributes from an archive are dropped: only these
 * two markers may steer overlayfs.
 *
 * Rootless (inNamespace: box's own process, run as root of the user's namespace by the helper,
 * src/image/store/ns-unpack.ts): owners map through the namespace, so a file of the container's
 * uid 1000 belongs to the user's subordinate id start+999 on the host; opaque directories get
 * user.overlay.opaque (the overlay is mounted with userxattr); device nodes other than whiteouts
 * are skipped (only the host's root may make them); with squash (a namespace of the user's id
 * alone) every owner becomes root.
 */
import { closeSync } from "node:fs";
import { BoxError } from "../errors";
import { byFd, Dir, isFsError, show, writeAll, type Time } from "../fs/dir";
import type { EntrySource, TarEntry } from "./tar";
import { explain, memberBytes, Parents, PATH_MAX, refuse } from "./unpack-parts";

export { memberBytes, memberPath, refuse } from "./unpack-parts";

const EMPTY = Buffer.alloc(0);

export interface UnpackStats {
  entries: number;
  /** Device nodes left out (rootless: only the host's root may make them). */
  devicesSkipped?: number;
  /** Bytes of regular file data written. */
  bytes: number;
  /** The newest modification time of any entry (seconds since the epoch). */
  newest: number;
}

export interface UnpackOptions {
  /** Sees every entry before it is unpacked, with its clean path (may throw to stop). */
  onEntry?(entry: TarEntry, path: Buffer): void;
  /**
   * A plain copy (box cp, a volume's first use), not an image layer: `.wh.` names are files like
   * any other, an existing directory is never replaced by a non-directory nor the reverse (docker's
   * rule), the destination's own metadata stays, and extended attributes it cannot hold are skipped.
   */
  plain?: boolean;
  /** The owner of everything written, in place of the archive's (box cp without -a). */
  owner?: { uid: number; gid: number };
  /** setuid and setgid bits are dropped, and a device node is for its owner only (box cp to the
   * host without -a: a container must not hand the host's users a setuid program or a disk). */
  dropSetid?: boolean;
  /** Unpacking as root of a user namespace (rootless): see above. */
  inNamespace?: { squash: boolean };
}

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

/**
 * Unpacks every entry of tar into dest (a Dir opened "beneath" on an empty directory).
 * Throws BoxError naming the entry on anything refused or failed.
 */
export async function unpackLayer(tar: EntrySource, dest: Dir, opts: UnpackOptions = {}): Promise<UnpackStats> {
  const stats: UnpackStats = { entries: 0, bytes: 0, newest: 0, ...(opts.inNamespace ? { devicesSkipped: 0 } : {}) };
  const parents = new Parents(dest);
  const ns = opts.inNamespace;
  const opaque = ns ? "user.overlay.opaque" : "trusted.overlay.opaque";
  const dirs: Array<{ rel: Buffer; mode: number; mtime: Time; ino: bigint; dev: string }> = [];
  // The owner: as written, the one a copy asks for, or root in a namespace of one id.
  const uid = (e: TarEntry) => opts.owner?.uid ?? (ns?.squash ? 0 : e.uid);
  const gid = (e: TarEntry) => opts.owner?.gid ?? (ns?.squash ? 0 : e.gid);
  const mode = (e: TarEntry) => (!opts.dropSetid ? e.mode : e.type === "char" || e.type === "block" ? e.mode & 0o600 : e.mode & ~0o6000);
  try {
    for (let e = await tar.next(); e; e = await tar.next()) {
      stats.entries++;
      const shown = show(e.name);
      const rel = memberBytes(e.name, shown);
      opts.onEntry?.(e, rel);
      if (e.mtime.sec > stats.newest) stats.newest = e.mtime.sec;
      try {
        await unpackEntry(e, rel, shown);
      } catch (err) {
        if (err instanceof BoxError) throw err;
        throw explain(err, dest, e, rel, shown);
      }
    }
    await tar.drain();
    // Directory modes and times last, deepest first, and only on the directory that was made.
    for (const d of dirs.reverse()) {
      const st = dest.tryLstat(d.rel);
      if (!st || st.type !== "dir" || st.ino !== d.ino || st.dev !== d.dev) continue;
      dest.chmod(d.rel, d.mode);
      dest.utimes(d.rel, d.mtime, d.mtime);
    }
  } finally {
    parents.closeAll();
  }
  return stats;

  /** Removes what is at parent/base so that an entry of the same name can take its place. */
  function clear(parent: Dir, base: Buffer, rel: Buffer): void {
    const st = parent.tryLstat(base);
    if (!st) return;
    if (st.type === "dir") parent.removeTree(base);
    else parent.unlink(base);
    parents.forget(rel);
  }

  /** Runs make; when the name exists (and may be replaced), clears it and runs make again. */
  function create(parent: Dir, base: Buffer, rel: Buffer, make: () => void): void {
    try {
      make();
    } catch (err) {
      if (!isFsError(err, "EEXIST")) throw err;
      if (opts.plain && parent.tryLstat(base)?.type === "dir") throw new BoxError(`cannot overwrite the directory "${show(rel)}" with a non-directory`);
      clear(parent, base, rel);
      make();
    }
  }

  function xattrs(e: TarEntry, set: (name: string, value: Buffer) => void): void {
    for (const [name, value] of e.xattrs) {
      if (OVERLAY_XATTR.test(name)) continue;
      // trusted.* (and security.* other than file capabilities) belong to the host's root.
      if (ns && !name.startsWith("user.") && name !== "security.capability") continue;
      try {
        set(name, value);
      } catch (err) {
        // A copy keeps what the destination can hold (tmpfs has no user.*, only root sets trusted.*).
        if (!opts.plain || !isFsError(err, "ENOTSUP", "EOPNOTSUPP", "EPERM", "EACCES", "ERANGE")) throw err;
      }
    }
  }


  async function unpackEntry(e: TarEntry, rel: Buffer, shown: string): Promise<void> {
    if (rel.length === 0) {
      // The root itself: only its metadata (a copy leaves its destination's as they are).
      if (e.type !== "dir") refuse(shown, "it would replace the root of the image");
      if (opts.plain) return;
      dest.chown("", uid(e), gid(e));
      const st = dest.lstat("");
      dirs.unshift({ rel: Buffer.from("."), mode: e.mode, mtime: e.mtime, ino: st.ino, dev: st.dev });
      return;
    }
    const slash = rel.lastIndexOf(0x2f);
    const parentPath = slash < 0 ? EMPTY : rel.subarray(0, slash);
    const base = rel.subarray(slash + 1);

    if (!opts.plain && base.length > 4 && base.subarray(0, 4).toString("latin1") === ".wh.") {
      const parent = parents.get(parentPath);
      const hidden = base.subarray(4);
      if (hidden.toString("latin1") === ".wh..opq") parent.setxattr("", opaque, Buffer.from("y"));
      else if (hidden.subarray(0, 4).toString("latin1") === ".wh.") {
        /* other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not content */
      } else if (!parent.tryLstat(hidden)) parent.mknod(hidden, "char", 0, 0, 0);
      return;
    }

    const parent = parents.get(parentPath);
    switch (e.type) {
      case "dir": {
        try {
          parent.mkdir(base, 0o700);
        } catch (err) {
          if (!isFsError(err, "EEXIST")) throw err;
          if (parent.lstat(base).type !== "dir") {
            if (opts.plain) throw new BoxError(`cannot overwrite the non-directory "${shown}" with a directory`);
            clear(parent, base, rel);
            parent.mkdir(base, 0o700);
          }
        }
        parent.chown(base, uid(e), gid(e));
        xattrs(e, (n, v) => parent.setxattr(base, n, v));
        const st = parent.lstat(base);
        dirs.push({ rel, mode: mode(e), mtime: e.mtime, ino: st.ino, dev: st.dev });
        return;
      }
      case "file": {
        let fd = -1;
        create(parent, base, rel, () => (fd = parent.createFile(base, 0o600)));
        try {
          for await (const chunk of tar.body()) {
            writeAll(fd, chunk);
            stats.bytes += chunk.length;
          }
          // chown first: it clears setuid bits and file capabilities, which come after.
          byFd.chown(fd, uid(e), gid(e));
          byFd.chmod(fd, mode(e));
          xattrs(e, (n, v) => byFd.setxattr(fd, n, v));
          byFd.utimes(fd, e.mtime, e.mtime);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case "symlink": {
        if (e.linkname.length === 0) refuse(shown, "it is a symbolic link to nothing");
        if (e.linkname.length > PATH_MAX) refuse(shown, `its link target is longer than ${PATH_MAX} bytes`);
        create(parent, base, rel, () => parent.symlink(e.linkname, base));
        parent.chown(base, uid(e), gid(e));
        xattrs(e, (n, v) => {
          try {
            parent.setxattr(base, n, v);
          } catch (err) {
            // user.* attributes cannot be set on a symbolic link: the kernel never allows it.
            if (!isFsError(err, "EPERM", "ENOTSUP", "EOPNOTSUPP")) throw err;
          }
        });
        parent.utimes(base, e.mtime, e.mtime);
        return;
      }
      case "link": {
        const target = memberBytes(e.linkname, show(e.linkname));
        if (target.length === 0) refuse(shown, "it is a hard link to the archive's root");
        if (target.equals(rel)) return; // a link to itself: nothing to do
        try {
          create(parent, base, rel, () => dest.link(target, rel));
        } catch (err) {
          if (isFsError(err, "ENOENT")) refuse(shown, `its target "${show(e.linkname)}" is not in the archive before it`);
          if (isFsError(err, "EPERM")) refuse(shown, `its target "${show(e.linkname)}" is a directory`);
          throw err;
        }
        return;
      }
      case "char":
      case "block":
      case "fifo": {
        if (ns && e.type !== "fifo" && !(e.type === "char" && e.devmajor === 0 && e.devminor === 0)) {
          stats.devicesSkipped!++;
          return;
        }
        create(parent, base, rel, () => parent.mknod(base, e.type as "char" | "block" | "fifo", 0o600, e.devmajor, e.devminor));
        parent.chown(base, uid(e), gid(e));
        parent.chmod(base, mode(e));
        xattrs(e, (n, v) => parent.setxattr(base, n, v));
        parent.utimes(base, e.mtime, e.mtime);
        return;
      }
    }
  }
}

/** Convenience: a tar byte stream into a host directory (tests, imports). */
export async function unpackTar(source: AsyncIterable<Uint8Array>, destPath: string, opts: UnpackOptions = {}): Promise<UnpackStats> {
  const { TarReader } = await import("./tar");
  const dest = Dir.open(destPath, "beneath");
  try {
    return await unpackLayer(new TarReader(source), dest, opts);
  } finally {
    dest.close();
  }
}
