/**
 * The files of an image archive (a tar, compressed or not) or of an OCI layout directory, read
 * by name for box load. A tar's regular files are copied under numbers into a scratch directory,
 * never under their names, and its links are a table resolved inside the archive: nothing in it
 * can name a file outside. A directory is read through src/fs (no link followed).
 */
import { closeSync, openSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { Dir, isFsError, writeAll } from "../fs/dir";
import { fileBytes, type Bytes } from "./archive";
import { hasher } from "./digest";
import type { StorePaths } from "./store";
import { BlobWriter, hasBlob } from "./store/blobs";
import { blobPath } from "./store/paths";

/** The files of an archive or layout, by name. */
export interface Source {
  what: string;
  has(path: string): boolean;
  /** A small file whole (JSON), refused when larger than cap. */
  read(path: string, cap: number): Buffer;
  /** A file's digest and size (computed when it was copied in, or now). */
  info(path: string): { digest: string; size: number };
  open(path: string): Bytes;
  /** Puts the file into the store as the blob it is (moved when it is box's own scratch). */
  adopt(path: string, p: StorePaths): void;
}

export const MAX_JSON = 8 << 20;

export function fail(what: string, why: string): never {
  throw new BoxError(`${what} is not an image archive box can load: ${why}`);
}

/** A tar archive's regular files, copied under numbers into dir, and its links, as a table. */
export async function tarSource(bytes: Bytes, dir: string, what: string): Promise<Source> {
  const [{ TarReader }, { decompress }, { memberBytes }] = await Promise.all([import("./tar"), import("./archive"), import("./unpack")]);
  const d = await decompress(bytes);
  const files = new Map<string, { file: string; digest: string; size: number }>();
  const links = new Map<string, string>();
  const tar = new TarReader(d.stream);
  let n = 0;
  let entry;
  try {
    entry = await tar.next();
  } catch {
    fail(what, "it is not a tar archive");
  }
  for (; entry; entry = await tar.next()) {
    const path = memberBytes(entry.name).toString("utf8");
    if (entry.type === "file") {
      const file = join(dir, String(n++));
      const fd = openSync(file, "wx", 0o600);
      const h = hasher();
      let size = 0;
      try {
        for await (const chunk of tar.body()) {
          writeAll(fd, chunk);
          h.update(chunk);
          size += chunk.length;
        }
      } finally {
        closeSync(fd);
      }
      files.set(path, { file, digest: h.digest(), size });
      links.delete(path);
    } else if (entry.type === "symlink") {
      const target = entry.linkname.toString("utf8");
      links.set(path, target.startsWith("/") ? target.slice(1) : join(path, "..", target));
      files.delete(path);
    } else if (entry.type === "link") {
      links.set(path, memberBytes(entry.linkname).toString("utf8"));
      files.delete(path);
    }
  }
  const resolve = (path: string) => {
    let p = join(".", path);
    for (let i = 0; i < 40; i++) {
      const f = files.get(p);
      if (f) return f;
      const next = links.get(p);
      if (next === undefined) return undefined;
      p = join(".", next);
      if (p.startsWith("..")) return undefined;
    }
    return undefined;
  };
  const get = (path: string) => resolve(path) ?? fail(what, `it has no file ${path}`);
  return {
    what,
    has: (path) => resolve(path) !== undefined,
    read: (path, cap) => {
      const f = get(path);
      if (f.size > cap) fail(what, `${path} is larger than ${cap} bytes`);
      return readFileSync(f.file);
    },
    info: (path) => ({ digest: get(path).digest, size: get(path).size }),
    open: (path) => fileBytes(get(path).file),
    adopt: (path, p) => {
      const f = get(path);
      if (hasBlob(p, f.digest)) return;
      renameSync(f.file, blobPath(p, f.digest));
      // Another name of the same file (a shared layer) now reads the blob.
      f.file = blobPath(p, f.digest);
    },
  };
}

/** An OCI layout directory, read through src/fs (no link followed, nothing outside it). */
export function dirSource(path: string): Source {
  const dir = Dir.open(path, "beneath");
  const known = new Map<string, { digest: string; size: number }>();
  const readAll = async function* (rel: string): AsyncGenerator<Uint8Array> {
    const fd = dir.openFile(rel);
    try {
      const { readSync } = await import("node:fs");
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) yield Buffer.from(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  };
  const hashOf = (rel: string) => {
    const hit = known.get(rel);
    if (hit) return hit;
    const fd = dir.openFile(rel);
    const { readSync } = require("node:fs") as typeof import("node:fs");
    const h = hasher();
    let size = 0;
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
        h.update(buf.subarray(0, n));
        size += n;
      }
    } finally {
      closeSync(fd);
    }
    const info = { digest: h.digest(), size };
    known.set(rel, info);
    return info;
  };
  return {
    what: path,
    has: (rel) => {
      try {
        return dir.lstat(rel).type === "file";
      } catch {
        return false;
      }
    },
    read: (rel, cap) => {
      try {
        return dir.readFile(rel, cap);
      } catch (err) {
        if (isFsError(err)) fail(path, err.message);
        throw err;
      }
    },
    info: hashOf,
    open: (rel) => readAll(rel),
    adopt: (rel, p) => {
      const { digest, size } = hashOf(rel);
      if (hasBlob(p, digest, size)) return;
      const w = new BlobWriter(p, { digest, size }, `${path}/${rel}`);
      try {
        const fd = dir.openFile(rel);
        const { readSync } = require("node:fs") as typeof import("node:fs");
        try {
          const buf = Buffer.allocUnsafe(1 << 20);
          for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) w.write(buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
        w.commit();
      } catch (err) {
        w.abort();
        throw err;
      }
    },
  };
}

