/** Tar headers: numbers (octal and GNU base-256), names, checksums, pax records, types. */
import { BoxError } from "../errors";
import type { EntryType } from "./tar";

export const BLOCK = 512;
export const MAX_META = 1 << 20;

export function bad(why: string): never {
  throw new BoxError(`the archive is damaged or not a tar archive: ${why}`);
}

/** A numeric header field: octal text, or GNU base-256 when the top bit of the first byte is set. */
export function numeric(block: Buffer, off: number, len: number, field: string): number {
  const first = block[off]!;
  if (first & 0x80) {
    if (first === 0xff) bad(`a negative ${field}`);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + block[off + i]!;
      if (!Number.isSafeInteger(v)) bad(`the ${field} is too large`);
    }
    return v;
  }
  let v = 0;
  let seen = false;
  for (let i = off; i < off + len; i++) {
    const c = block[i]!;
    if (c === 0 || (c === 0x20 && seen)) break;
    if (c === 0x20) continue;
    if (c < 0x30 || c > 0x37) bad(`the ${field} field is not an octal number`);
    v = v * 8 + (c - 0x30);
    seen = true;
  }
  return v;
}

export function cstring(block: Buffer, off: number, len: number): Buffer {
  const end = block.indexOf(0, off);
  return Buffer.from(block.subarray(off, end < 0 || end > off + len ? off + len : end));
}

export function checksumOk(block: Buffer): boolean {
  const want = numeric(block, 148, 8, "checksum");
  let unsigned = 0, signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

export interface Pax {
  path?: Buffer;
  linkpath?: Buffer;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: { sec: number; nsec: number };
  xattrs: Array<[string, Buffer]>;
}

function paxTime(v: string): { sec: number; nsec: number } {
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(v);
  if (!m) bad(`a pax time "${v}" that is not a number`);
  const frac = (m[2] ?? "").slice(0, 9).padEnd(9, "0");
  return { sec: Number(m[1]), nsec: Number(frac) };
}

function paxInt(v: string, key: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) bad(`a pax ${key} "${v.slice(0, 40)}" that is not a number`);
  return Number(v);
}

/** Parses pax records ("LEN key=value\n"), keeping values as bytes. */
export function parsePax(data: Buffer, into: Pax): void {
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break; // padding
    const sp = data.indexOf(0x20, off);
    if (sp < 0 || sp - off > 20) bad("a pax record without a length");
    const len = Number(data.subarray(off, sp).toString("latin1"));
    if (!Number.isSafeInteger(len) || len <= sp - off + 1 || off + len > data.length || data[off + len - 1] !== 0x0a) bad("a pax record of a wrong length");
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) bad("a pax record without '='");
    const key = rec.subarray(0, eq).toString("utf8");
    const value = Buffer.from(rec.subarray(eq + 1));
    off += len;
    const text = () => value.toString("utf8");
    switch (key) {
      case "path": into.path = value; break;
      case "linkpath": into.linkpath = value; break;
      case "size": into.size = paxInt(text(), key); break;
      case "uid": into.uid = paxInt(text(), key); break;
      case "gid": into.gid = paxInt(text(), key); break;
      case "mtime": into.mtime = paxTime(text()); break;
      default:
        if (key.startsWith("SCHILY.xattr.")) into.xattrs.push([key.slice(13), value]);
        else if (key.startsWith("LIBARCHIVE.xattr.")) into.xattrs.push([decodeURIComponent(key.slice(17)), Buffer.from(text(), "base64")]);
        else if (key.startsWith("GNU.sparse.")) bad("sparse files are not supported");
      // Others (atime, ctime, uname, gname, comment, charset, hdrcharset) do not change what is unpacked.
    }
  }
}

export function typeOf(flag: string): EntryType | "skip" {
  switch (flag) {
    case "0": case "\0": case "7": return "file";
    case "1": return "link";
    case "2": return "symlink";
    case "3": return "char";
    case "4": return "block";
    case "5": case "D": return "dir";
    case "6": return "fifo";
    case "V": return "skip";
    case "S": bad("sparse files are not supported");
    // falls through (bad never returns)
    case "M": bad("multi-volume archives are not supported");
    // falls through
    default: bad(`an entry of unknown type '${flag.charCodeAt(0) < 32 ? `\\x${flag.charCodeAt(0).toString(16)}` : flag}'`);
  }
}
