/**
 * The images this box carries (./format.ts): found by reading its own executable through
 * /proc/self/exe (the very file that runs, even if its path was since replaced), every read bounded
 * by the index, every number checked before use. A box with nothing after its ELF file carries
 * nothing; one whose payload does not check out is refused with one sentence naming what is wrong.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { BoxError } from "../../errors";
import type { Bytes } from "../archive";
import { hasher, sha256 } from "../digest";
import { parseReference, tagName } from "../reference";
import { decodeHeader, elfExtent, HEADER_SIZE, parseIndex, type PackedBlob, type PackedImage, type PackIndex } from "./format";

export interface Pack {
  /** The executable, as a person knows it (its path), for sentences. */
  exe: string;
  fd: number;
  /** Where the ELF file ends and the payload starts. */
  base: number;
  index: PackIndex;
  blobs: Map<string, PackedBlob>;
}

/** The one sentence for a packed box whose payload does not check out. */
export function damagedError(exe: string, why: string): BoxError {
  return new BoxError(`${exe} is damaged: ${why}; copy it again from where it was packed`);
}

/** Reads exactly length bytes at offset (short reads continued); fewer only at the file's end. */
export function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n <= 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Whether this is the compiled box (run from source, /proc/self/exe is bun itself). */
export function compiled(): boolean {
  return Bun.main.startsWith("/$bunfs/");
}

const validName = (n: string) => {
  const r = parseReference(n);
  return !!r && !r.digest;
};

/** Whether the file ends with its section header table, where a linker (and Bun) put it: then
 * nothing follows the ELF file, known from its first 64 bytes (the common case, a plain box). */
function endsWithSections(head: Buffer, size: number): boolean {
  return head.length === 64 && head.toString("latin1", 0, 4) === "\x7fELF" && Number(head.readBigUInt64LE(40)) + head.readUInt16LE(60) * head.readUInt16LE(58) === size;
}

/** Opens an executable and reads what it carries: undefined when nothing follows its ELF file. */
export function openPack(path: string, name: string | (() => string) = path): Pack | undefined {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (endsWithSections(readAt(fd, 0, 64), size)) {
      closeSync(fd);
      return undefined;
    }
    const exe = typeof name === "string" ? name : name();
    const { end } = elfExtent((o, n) => readAt(fd, o, n), size);
    if (end === size) {
      closeSync(fd);
      return undefined;
    }
    const damaged = (why: string): never => {
      throw damagedError(exe, why);
    };
    const header = decodeHeader(readAt(fd, end, HEADER_SIZE), size - end, damaged);
    const text = readAt(fd, end + header.indexOffset, header.indexLength);
    if (text.length !== header.indexLength) damaged("it is truncated");
    if (sha256(text) !== header.indexDigest) damaged("the index of its carried images does not match its digest");
    const index = parseIndex(text.toString("utf8"), header, validName, damaged);
    return { exe, fd, base: end, index, blobs: new Map(index.blobs.map((b) => [b.digest, b])) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

let cached: { pack: Pack | undefined } | undefined;

/** What this box carries (read once per process). */
export function selfPack(): Pack | undefined {
  if (!compiled()) return undefined;
  cached ??= { pack: openPack("/proc/self/exe", () => process.execPath) };
  return cached.pack;
}

/** A blob's bytes, streamed from the payload, never past its end. */
export async function* blobBytes(pack: Pack, blob: PackedBlob): AsyncGenerator<Uint8Array> {
  const chunk = 1 << 20;
  for (let done = 0; done < blob.size; ) {
    const part = readAt(pack.fd, pack.base + blob.offset + done, Math.min(chunk, blob.size - done));
    if (part.length === 0) throw damagedError(pack.exe, `it ends inside the blob ${blob.digest}`);
    done += part.length;
    yield part;
  }
}

/** Checks a blob against its digest (its size is the index's, checked against the file already). */
export async function verifyBlob(pack: Pack, blob: PackedBlob, what: string): Promise<void> {
  const h = hasher();
  for await (const c of blobBytes(pack, blob)) h.update(c);
  if (h.digest() !== blob.digest) {
    throw damagedError(pack.exe, `${what} (${blob.digest.slice(0, 19)}) does not match its digest`);
  }
}

/** A small blob (a config, a manifest) whole, checked against its digest. */
export function readSmallBlob(pack: Pack, blob: PackedBlob, cap: number, what: string): Buffer {
  if (blob.size > cap) throw damagedError(pack.exe, `${what} is larger than ${cap} bytes`);
  const data = readAt(pack.fd, pack.base + blob.offset, blob.size);
  if (data.length !== blob.size || sha256(data) !== blob.digest) {
    throw damagedError(pack.exe, `${what} (${blob.digest.slice(0, 19)}) does not match its digest`);
  }
  return data;
}

/** The carried image a word names (a name as docker normalises it, or an image ID, 12+ hex). */
export function findCarried(pack: Pack, word: string): PackedImage | undefined {
  const r = parseReference(word);
  const full = r && !r.digest ? tagName(r) : undefined;
  const hex = word.replace(/^sha256:/, "");
  return pack.index.images.find((i) => (full !== undefined && i.names.includes(full)) || (/^[0-9a-f]{12,64}$/.test(hex) && i.id.slice(7).startsWith(hex)));
}

export type { Bytes };
