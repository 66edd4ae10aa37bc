import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { openInRoot } from "../sys/libc";

/** /etc/passwd and friends are small; a larger one is not read (and reads as absent). */
export const ROOT_FILE_CAP = 4 * 1024 * 1024;

/**
 * A regular file of a container's root (or an image's), read the way the container itself would
 * see it: every symlink and ".." resolved inside root, never on the host (openat2 RESOLVE_IN_ROOT).
 * Anything but a regular file, or one over the cap, reads as absent.
 */
export function readRootFile(root: string, path: string, cap = ROOT_FILE_CAP): string | undefined {
  let dirfd: number;
  try {
    dirfd = openSync(root, "r");
  } catch {
    return undefined;
  }
  try {
    const fd = openInRoot(dirfd, path);
    if (fd < 0) return undefined;
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > cap) return undefined;
      const buf = Buffer.alloc(Math.min(st.size + 1, cap + 1));
      let got = 0;
      for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
      return got > cap ? undefined : buf.subarray(0, got).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } finally {
    closeSync(dirfd);
  }
}
