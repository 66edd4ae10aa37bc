/**
 * Writes archive entries as a POSIX tar stream (ustar, with pax extended headers where ustar
 * cannot say it: long names and link targets, large sizes and ids, extended attributes as
 * SCHILY.xattr.*). Names and values keep their bytes. Times are whole seconds, as docker writes
 * them, so the same tree gives the same bytes (a layer's diffID). src/image/tar.ts reads it back.
 */
import { writeSync } from "node:fs";
import { BoxError } from "../errors";
import type { EntrySource, TarEntry } from "../image/tar";

const BLOCK = 512;
const TYPEFLAG: Record<TarEntry["type"], string> = { file: "0", link: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

/** Where the bytes go: written in order, each chunk before the next is asked for. */
export type Sink = (chunk: Uint8Array) => void | Promise<void>;

function octal(h: Buffer, value: number, off: number, len: number): boolean {
  const text = value.toString(8);
  if (value < 0 || text.length > len - 1) return false;
  h.write(text.padStart(len - 1, "0") + "\0", off, "latin1");
  return true;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, "utf8"), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** Splits a name into ustar's prefix (155) and name (100) at a slash, when it fits. */
function ustarName(name: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    if (i <= 155 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
    if (i < name.length - 101) break;
  }
  return undefined;
}

function header(name: Buffer, e: TarEntry, typeflag: string, size: number, pax: Buffer[]): Buffer {
  const h = Buffer.alloc(BLOCK);
  const split = ustarName(name);
  if (split) {
    split.name.copy(h, 0);
    split.prefix.copy(h, 345);
  } else {
    name.subarray(0, 100).copy(h, 0);
    pax.push(paxRecord("path", name));
  }
  // A number ustar cannot hold goes in the pax header (the field says 0).
  const num = (value: number, off: number, len: number, key: string) => {
    if (octal(h, value, off, len)) return;
    octal(h, 0, off, len);
    pax.push(paxRecord(key, Buffer.from(String(value))));
  };
  octal(h, e.mode & 0o7777, 100, 8);
  num(e.uid, 108, 8, "uid");
  num(e.gid, 116, 8, "gid");
  num(size, 124, 12, "size");
  num(e.mtime.sec, 136, 12, "mtime");
  h.write(typeflag, 156, "latin1");
  if (e.linkname.length <= 100) e.linkname.copy(h, 157);
  else pax.push(paxRecord("linkpath", e.linkname));
  h.write("ustar\u000000", 257, "latin1");
  if (e.type === "char" || e.type === "block") {
    octal(h, e.devmajor, 329, 8);
    octal(h, e.devminor, 337, 8);
  }
  return h;
}

function checksum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return h;
}

const padding = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** The header block(s) of one entry: a pax header first when needed. */
export function entryHeader(e: TarEntry): Buffer {
  const name = e.type === "dir" && e.name[e.name.length - 1] !== 0x2f ? Buffer.concat([e.name, Buffer.from("/")]) : e.name;
  const pax: Buffer[] = [];
  for (const [k, v] of e.xattrs) pax.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const size = e.type === "file" ? e.size : 0;
  const h = checksum(header(name, e, TYPEFLAG[e.type], size, pax));
  if (pax.length === 0) return h;
  const body = Buffer.concat(pax);
  const base = name.subarray(name.lastIndexOf(0x2f, name.length - 2) + 1).subarray(0, 80);
  const ph = header(Buffer.concat([Buffer.from("PaxHeaders/"), base]), { ...e, mode: 0o644, uid: 0, gid: 0, linkname: Buffer.alloc(0) }, "x", body.length, []);
  return Buffer.concat([checksum(ph), body, padding(body.length), h]);
}

/** Writes every entry of src (each file's data as its header says), then the end of the archive. */
export async function writeTar(src: EntrySource, sink: Sink): Promise<void> {
  for (let e = await src.next(); e; e = await src.next()) {
    await sink(entryHeader(e));
    if (e.type !== "file") continue;
    let n = 0;
    for await (const chunk of src.body()) {
      const part = n + chunk.length > e.size ? chunk.subarray(0, e.size - n) : chunk;
      if (part.length) await sink(part);
      n += part.length;
    }
    if (n < e.size) await sink(Buffer.alloc(e.size - n));
    const pad = padding(e.size);
    if (pad.length) await sink(pad);
  }
  await sink(Buffer.alloc(BLOCK * 2));
}

/**
 * A sink writing to an fd that may be non-blocking (Bun's stdout when it is a pipe): a full pipe
 * is waited for, never an error; a reader that went away is one sentence.
 */
export function fdSink(fd: number, what: string): Sink {
  return async (chunk) => {
    let off = 0;
    while (off < chunk.length) {
      try {
        off += writeSync(fd, chunk, off, chunk.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") await Bun.sleep(1);
        else if (code === "EPIPE") throw new BoxError(`${what} was closed before the archive was written whole`);
        else throw err;
      }
    }
  };
}
