import {
  chmodSync, closeSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync,
  symlinkSync, unlinkSync, utimesSync, writeSync, constants,
} from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { extract as tarExtract, type Header } from "tar-stream";
import { BoxError } from "../errors";

/** Why an archive was refused: names the entry, so a user can find it. */
function refuse(entry: string, why: string): never {
  throw new BoxError(`refusing the archive entry "${entry}": ${why}`);
}

/**
 * An archive member name as a relative path inside the destination, or "" for the root itself.
 * Absolute names and `..` components are refused rather than rewritten: an archive that needs them
 * is not a root filesystem box should trust.
 */
export function memberPath(name: string): string {
  if (name.startsWith("/")) refuse(name, "it is an absolute path");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) refuse(name, "it contains '..'");
  return parts.join("/");
}

interface Stats {
  entries: number;
}

/**
 * Unpacks a tar stream into dest (an empty directory) exactly: symlink targets stay as written
 * (absolute ones too: /bin/sh -> /bin/busybox must keep working inside the container), hard links,
 * modes with setuid bits, owners and times are kept. Nothing is written outside dest: member names
 * are checked, and an entry whose path goes through a symlink made by an earlier entry is refused,
 * because writing it would follow that link wherever it points.
 */
export async function unpackTar(input: Readable, dest: string): Promise<Stats> {
  const links = new Set<string>(); // relative paths that are symlinks in dest
  const dirs: Array<{ path: string; header: Header }> = [];
  const stats: Stats = { entries: 0 };

  const checkParents = (rel: string, entry: string) => {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (links.has(prefix)) refuse(entry, `it would be written through the symbolic link "${prefix}"`);
    }
  };
  // A later entry replaces an earlier one of the same name, as with tar; a directory is kept.
  const clear = (abs: string, rel: string, keepDir: boolean): boolean => {
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      return false;
    }
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory()) rmSync(abs, { recursive: true });
    else unlinkSync(abs);
    links.delete(rel);
    return false;
  };
  const own = (abs: string, h: Header, isLink: boolean) => {
    lchownSync(abs, h.uid ?? 0, h.gid ?? 0);
    if (!isLink) chmodSync(abs, (h.mode ?? 0o644) & 0o7777); // after chown, which clears setuid bits
    const mtime = h.mtime ?? new Date(0);
    (isLink ? lutimesSync : utimesSync)(abs, mtime, mtime);
  };

  const ex = tarExtract();
  input.pipe(ex);
  input.on("error", (err) => ex.destroy(err));
  try {
    for await (const entry of ex) await unpackEntry(entry);
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(`cannot unpack the archive: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Directory modes and times last: a read-only directory must not stop its own contents.
  for (const d of dirs.reverse()) own(d.path, d.header, false);
  return stats;

  async function unpackEntry(entry: AsyncIterable<unknown> & { header: Header; resume(): void }): Promise<void> {
    const h = entry.header;
    stats.entries++;
    const rel = memberPath(h.name);
    const abs = rel === "" ? dest : join(dest, rel);
    if (rel !== "") checkParents(rel, h.name);
    if (rel !== "" && h.type !== "directory") mkdirSync(join(abs, ".."), { recursive: true, mode: 0o755 });

    switch (h.type) {
      case "directory":
        if (rel !== "" && !clear(abs, rel, true)) mkdirSync(abs, { recursive: true, mode: 0o700 });
        dirs.push({ path: abs, header: h });
        break;
      case "file":
      case "contiguous-file": {
        clear(abs, rel, false);
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of entry) writeSync(fd, chunk as Buffer);
        } finally {
          closeSync(fd);
        }
        own(abs, h, false);
        break;
      }
      case "symlink":
        clear(abs, rel, false);
        symlinkSync(h.linkname ?? "", abs);
        links.add(rel);
        own(abs, h, true);
        break;
      case "link": {
        const target = memberPath(h.linkname ?? "");
        if (target === "") refuse(h.name, "it is a hard link to the archive's root");
        checkParents(target, h.name);
        clear(abs, rel, false);
        linkSync(join(dest, target), abs);
        if (links.has(target)) links.add(rel);
        break;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        clear(abs, rel, false);
        const type = h.type === "fifo" ? 0o010000 : h.type === "block-device" ? 0o060000 : 0o020000;
        const { mknod } = await import("./native");
        mknod(abs, type | ((h.mode ?? 0o600) & 0o7777), h.devmajor ?? 0, h.devminor ?? 0);
        own(abs, h, false);
        break;
      }
      default:
        refuse(h.name, `it is of type ${h.type}, which box does not unpack`);
    }
    // Extended attributes (file capabilities among them), as GNU tar and bsdtar store them in pax headers.
    const xattrs = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith("SCHILY.xattr."));
    if (xattrs.length > 0 && h.type !== "link") {
      const { lsetxattr } = await import("./native");
      for (const [k, v] of xattrs) lsetxattr(abs, k.slice("SCHILY.xattr.".length), Buffer.from(v, "latin1"));
    }
    entry.resume(); // drain whatever was not read (directories, links)
  }
}
