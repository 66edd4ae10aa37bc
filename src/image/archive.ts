/**
 * Byte streams of archives: what a stream is compressed with, and the stream decompressed, chunk
 * by chunk. Nothing here holds a whole archive in memory: a compression bomb costs disk at most,
 * never RAM (zstd and gzip through node:zlib streams, xz through xz-decompress's streaming decoder).
 */
import { createReadStream } from "node:fs";
import type { Transform } from "node:stream";
import { BoxError } from "../errors";

export type Compression = "gzip" | "xz" | "zstd" | "none";

/** What an archive is compressed with, from its first bytes (the name may lie). */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return "gzip";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  return "none";
}

/** A tar header carries "ustar" at offset 257 (POSIX and GNU formats alike). */
export function looksLikeTar(head: Uint8Array): boolean {
  return new TextDecoder().decode(head.subarray(257, 262)) === "ustar";
}

export type Bytes = AsyncIterable<Uint8Array>;

const CHUNK = 256 * 1024;

/** Calls fn on every chunk as it passes (a digest, a byte count, a progress bar). */
export async function* tap(source: Bytes, fn: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    fn(chunk);
    yield chunk;
  }
}

/** The first chunk (at least `want` bytes when the stream has them), and the whole stream again. */
export async function peek(source: Bytes, want = 512): Promise<{ head: Buffer; stream: Bytes }> {
  const it = source[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let n = 0;
  let done = false;
  while (n < want) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    got.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
    n += r.value.length;
  }
  const head = Buffer.concat(got);
  async function* again(): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, stream: again() };
}

const zlib = () => require("node:zlib") as typeof import("node:zlib");

function through(source: Bytes, t: Transform): Bytes {
  // node:stream and node:zlib required on use: see src/sys/terminal.ts.
  const { pipeline, Readable } = require("node:stream") as typeof import("node:stream");
  return pipeline(Readable.from(source, { objectMode: false }), t, () => {
    /* errors reach the reader of t */
  }) as unknown as Bytes;
}

/** The stream decompressed as its first bytes say (gzip, zstd, xz, or none). */
export async function decompress(source: Bytes): Promise<{ compression: Compression; stream: Bytes; head: Buffer }> {
  const { head, stream } = await peek(source, 512);
  const compression = detectCompression(head);
  switch (compression) {
    // Chunks of 256 kB rather than zlib's 16 kB: a sixteenth of the writes and of the JavaScript
    // turns per byte unpacked.
    case "gzip":
      return { compression, head, stream: through(stream, zlib().createGunzip({ chunkSize: CHUNK })) };
    case "zstd":
      return { compression, head, stream: through(stream, zlib().createZstdDecompress({ chunkSize: CHUNK })) };
    case "xz": {
      const { XzReadableStream } = await import("xz-decompress");
      const it = stream[Symbol.asyncIterator]();
      const input = new ReadableStream<Uint8Array>({
        async pull(c) {
          const r = await it.next();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
      });
      const web = new XzReadableStream(input);
      return { compression, head, stream: web as unknown as Bytes };
    }
    case "none":
      return { compression, head, stream };
  }
}

/** A file's bytes, streamed. */
export function fileBytes(path: string): Bytes {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}

/** Bytes in memory, as a stream. */
export async function* memoryBytes(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += 1 << 20) yield bytes.subarray(off, off + (1 << 20));
}

/** The tar stream inside an archive file, refused when it is neither compressed nor a tar. */
export async function tarOf(source: Bytes, what: string): Promise<{ compression: Compression; stream: Bytes }> {
  const d = await decompress(source);
  if (d.compression === "none" && d.head.length > 0 && !looksLikeTar(d.head) && !d.head.subarray(0, 1024).every((b) => b === 0)) {
    throw new BoxError(`${what} is not a tar archive (.tar, .tar.gz, .tar.xz or .tar.zst)`);
  }
  return d;
}
