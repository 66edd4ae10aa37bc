/**
 * How `box pack` carries images inside a copy of box: a payload after the end of the ELF file.
 *
 *   [ box, byte for byte as built (an ELF executable; Bun's own payload is inside it) ]  E bytes
 *   [ header, 96 bytes ]
 *   [ blobs: each config, manifest and layer archive once, by digest, back to back ]
 *   [ index: JSON, the images (names, ID, manifest) and each blob's digest, offset and size ]
 *
 * E, where the ELF file ends, is computed from the ELF headers (the furthest byte any program
 * header, section or header table covers). The kernel maps only what the program headers name,
 * and this Bun (1.4) finds its own payload in its `.bun` section, mapped with the rest, through a
 * symbol: never by reading the file's end. So bytes after E are seen by nobody but box. A file
 * with nothing after E is a plain box; with anything after E, that must be a payload that checks
 * out, or the file is refused as damaged.
 *
 * Header, little-endian (offsets from the header's start, which is E):
 *    0  "BOXPACK\0"
 *    8  u32 version (1)          12  u32 header size (96)
 *   16  u64 total: header, blobs and index, to the end of the file
 *   24  u64 index offset         32  u64 index length
 *   40  32 bytes: the index's sha256
 *   72  16 bytes: zero
 *   88  8 bytes: the first 8 bytes of the sha256 of bytes 0-87 (a damaged header is caught even
 *       where its numbers would still make sense)
 * Blob offsets in the index count from the header's start too. Every blob is checked against its
 * digest before an image of it is used (./carried.ts).
 */
import { BoxError } from "../../errors";
import { isDigest } from "../digest";

export const MAGIC = "BOXPACK\0";
export const VERSION = 1;
export const HEADER_SIZE = 96;
/** Bounds on what a reader accepts: an index is small; counts keep validation cheap. */
export const MAX_INDEX = 16 << 20;
const MAX_IMAGES = 256;
const MAX_BLOBS = 8192;

export interface Header {
  total: number;
  indexOffset: number;
  indexLength: number;
  indexDigest: string;
}

export interface PackedBlob {
  digest: string;
  offset: number;
  size: number;
}

export interface PackedImage {
  /** The image ID: its config's digest. */
  id: string;
  /** Full names (docker.io/library/x:tag). */
  names: string[];
  /** Digest of the OCI manifest that lists its config and layers. */
  manifest: string;
  created: string;
  /** What box images shows (bytes of file data in its layers). */
  size: number;
}

export interface PackIndex {
  version: number;
  images: PackedImage[];
  blobs: PackedBlob[];
}

function sha256Bytes(data: Uint8Array): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(data).digest());
}

export function encodeHeader(h: Header): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(MAGIC, 0, "latin1");
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(HEADER_SIZE, 12);
  b.writeBigUInt64LE(BigInt(h.total), 16);
  b.writeBigUInt64LE(BigInt(h.indexOffset), 24);
  b.writeBigUInt64LE(BigInt(h.indexLength), 32);
  Buffer.from(h.indexDigest.slice(7), "hex").copy(b, 40);
  sha256Bytes(b.subarray(0, 88)).copy(b, 88, 0, 8);
  return b;
}

/** The header, checked against itself and the file's length; `damaged` makes the sentence. */
export function decodeHeader(b: Buffer, available: number, damaged: (why: string) => never): Header {
  if (b.length < HEADER_SIZE) damaged(`it has ${available} bytes after the executable, too few for box's header`);
  if (b.toString("latin1", 0, 8) !== MAGIC) damaged(`the ${available} bytes after the executable are not images box packed`);
  if (!sha256Bytes(b.subarray(0, 88)).subarray(0, 8).equals(b.subarray(88, 96))) damaged("the header of its carried images is corrupt");
  const version = b.readUInt32LE(8);
  if (version !== VERSION || b.readUInt32LE(12) !== HEADER_SIZE) damaged(`its carried images are in format ${version}, which this box does not read`);
  const num = (off: number) => {
    const v = b.readBigUInt64LE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) damaged("the header of its carried images is corrupt");
    return Number(v);
  };
  const h: Header = { total: num(16), indexOffset: num(24), indexLength: num(32), indexDigest: "sha256:" + b.toString("hex", 40, 72) };
  if (available < h.total) damaged(`it is truncated (its carried images end after ${available} of ${h.total} bytes)`);
  if (available > h.total) damaged(`it has ${available - h.total} bytes more than its carried images account for`);
  if (h.indexLength > MAX_INDEX || h.indexOffset < HEADER_SIZE || h.indexOffset + h.indexLength !== h.total) damaged("the header of its carried images is corrupt");
  return h;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The index, checked field by field: blobs inside the payload, never overlapping; images made
 * of blobs it lists. `validName` says whether a name is one box can take. */
export function parseIndex(text: string, h: Header, validName: (n: string) => boolean, damaged: (why: string) => never): PackIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    damaged("the index of its carried images is not JSON");
  }
  const bad: (why: string) => never = (why) => damaged(`in the index of its carried images, ${why}`);
  if (!isObject(doc) || doc.version !== VERSION || !Array.isArray(doc.images) || !Array.isArray(doc.blobs)) bad("it lacks version, images or blobs");
  const { images, blobs } = doc as { images: unknown[]; blobs: unknown[] };
  if (images.length > MAX_IMAGES || blobs.length > MAX_BLOBS) bad("it lists too many images or blobs");
  const byDigest = new Map<string, PackedBlob>();
  for (const b of blobs) {
    if (!isObject(b) || !isDigest(b.digest) || !count(b.offset) || !count(b.size)) bad("a blob lacks a digest, offset or size");
    const blob = { digest: b.digest as string, offset: b.offset as number, size: b.size as number };
    if (byDigest.has(blob.digest)) bad(`the blob ${blob.digest} is listed twice`);
    if (blob.offset < HEADER_SIZE || blob.offset + blob.size > h.indexOffset) bad(`the blob ${blob.digest} lies outside the payload`);
    byDigest.set(blob.digest, blob);
  }
  const sorted = [...byDigest.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) if (sorted[i - 1]!.offset + sorted[i - 1]!.size > sorted[i]!.offset) bad("two blobs overlap");
  const out: PackedImage[] = images.map((v) => {
    if (!isObject(v) || !isDigest(v.id) || !isDigest(v.manifest) || !Array.isArray(v.names) || typeof v.created !== "string" || !count(v.size)) bad("an image lacks its id, manifest, names, created or size");
    const img = v as unknown as PackedImage;
    if (!img.names.every((n) => typeof n === "string" && validName(n))) bad(`image ${img.id} has a name box cannot take`);
    for (const d of [img.id, img.manifest]) if (!byDigest.has(d)) bad(`image ${img.id} needs the blob ${d}, which is not there`);
    return { id: img.id, names: [...img.names], manifest: img.manifest, created: img.created, size: img.size };
  });
  return { version: VERSION, images: out, blobs: sorted };
}

/** Where an ELF file ends: the furthest byte its headers, segments and sections cover. Also
 * whether it has a `.bun` section inside a loaded segment (where Bun 1.4 keeps its payload). */
export function elfExtent(read: (offset: number, length: number) => Buffer, fileSize: number): { end: number; bunMapped: boolean } {
  const eh = read(0, 64);
  if (eh.length < 64 || eh.toString("latin1", 0, 4) !== "\x7fELF" || eh[4] !== 2 || eh[5] !== 1) {
    throw new BoxError("box's own executable is not a 64-bit little-endian ELF file");
  }
  const phoff = Number(eh.readBigUInt64LE(32)), shoff = Number(eh.readBigUInt64LE(40));
  const phentsize = eh.readUInt16LE(54), phnum = eh.readUInt16LE(56), shentsize = eh.readUInt16LE(58), shnum = eh.readUInt16LE(60), shstrndx = eh.readUInt16LE(62);
  let end = Math.max(64, phoff + phnum * phentsize, shoff + shnum * shentsize);
  if (end > fileSize || phentsize < 56 || (shnum > 0 && shentsize < 64)) throw new BoxError("box's own executable has ELF headers that point outside it");
  const ph = read(phoff, phnum * phentsize);
  const loads: Array<[number, number]> = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const offset = Number(ph.readBigUInt64LE(o + 8)), vaddr = Number(ph.readBigUInt64LE(o + 16)), filesz = Number(ph.readBigUInt64LE(o + 32)), memsz = Number(ph.readBigUInt64LE(o + 40));
    end = Math.max(end, offset + filesz);
    if (ph.readUInt32LE(o) === 1) loads.push([vaddr, vaddr + memsz]);
  }
  const sh = shnum > 0 ? read(shoff, shnum * shentsize) : Buffer.alloc(0);
  const section = (i: number) => {
    const o = i * shentsize;
    return { name: sh.readUInt32LE(o), type: sh.readUInt32LE(o + 4), addr: Number(sh.readBigUInt64LE(o + 16)), offset: Number(sh.readBigUInt64LE(o + 24)), size: Number(sh.readBigUInt64LE(o + 32)) };
  };
  const strtab = shstrndx < shnum ? section(shstrndx) : undefined;
  const names = strtab && strtab.offset + strtab.size <= fileSize ? read(strtab.offset, Math.min(strtab.size, 1 << 16)) : Buffer.alloc(0);
  let bunMapped = false;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== 8 /* SHT_NOBITS */) end = Math.max(end, s.offset + s.size);
    const name = names.toString("latin1", s.name, names.indexOf(0, s.name) < 0 ? s.name : names.indexOf(0, s.name));
    if (name === ".bun" && loads.some(([from, to]) => s.addr >= from && s.addr + s.size <= to)) bunMapped = true;
  }
  if (end > fileSize) throw new BoxError("box's own executable has ELF sections that point outside it");
  return { end, bunMapped };
}
