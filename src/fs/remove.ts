/**
 * Removing a tree relative to directory fds: unlinkat at every depth, never following a link,
 * never crossing into another mount.
 */
import { E, FsError } from "./errors";
import { AT_REMOVEDIR, cpath, errno, libc, O, RESOLVE } from "./libc";
import { show } from "./path";
import { fstatFd, type Stat } from "./stat";
import { closeFd, openat2, readNames } from "./sys";

const { ENOENT, EISDIR, EINVAL, EXDEV, ENOTEMPTY } = E;

/**
 * Removes name (in the directory pfd) and everything under it. A missing name is not an error; a
 * mount point inside is (EXDEV), and nothing past it is touched.
 */
export function removeAt(pfd: number, name: Buffer, top: string): void {
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
}

/**
 * Empties the directory open as topFd. Iterative, with only the top and the current directory
 * open: descending opens the child by name (no link followed, no mount crossed), ascending opens
 * ".." and checks it is the directory it came from (device and inode), so a rename meanwhile stops
 * the removal instead of sending it elsewhere.
 */
export function emptyTree(topFd: number, home: Stat, top: string): void {
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

