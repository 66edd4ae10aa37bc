import { createReadStream, openSync, readSync, closeSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
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

function head(path: string, n: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The tar stream inside an archive held in memory (the embedded image: Bun's embedded files
 * can be read with Bun.file, not opened with fs). */
export async function tarFromBytes(bytes: Uint8Array<ArrayBuffer>): Promise<Readable> {
  switch (detectCompression(bytes)) {
    case "gzip":
      return Readable.from([Buffer.from(Bun.gunzipSync(bytes))]);
    case "zstd":
      return Readable.from([Bun.zstdDecompressSync(bytes)]);
    case "xz": {
      const { XzReadableStream } = await import("xz-decompress");
      const web = new XzReadableStream(new Blob([bytes]).stream()) as unknown as import("node:stream/web").ReadableStream;
      return Readable.fromWeb(web);
    }
    case "none":
      return Readable.from([Buffer.from(bytes)]);
  }
}

/** The tar stream inside an archive file: .tar, .tar.gz/.tgz, .tar.xz or .tar.zst. */
export async function tarStream(path: string): Promise<Readable> {
  const first = head(path, 512);
  switch (detectCompression(first)) {
    case "gzip":
      return createReadStream(path).pipe(createGunzip());
    case "xz": {
      const { XzReadableStream } = await import("xz-decompress");
      const web = new XzReadableStream(Bun.file(path).stream()) as unknown as import("node:stream/web").ReadableStream;
      return Readable.fromWeb(web);
    }
    case "zstd":
      return Readable.from([Bun.zstdDecompressSync(readFileSync(path))]);
    case "none": {
      // A tar header carries "ustar" at offset 257 (POSIX and GNU formats alike).
      const magic = new TextDecoder().decode(first.subarray(257, 262));
      if (magic !== "ustar") throw new BoxError(`${path} is not a tar archive (.tar, .tar.gz, .tar.xz or .tar.zst)`);
      return createReadStream(path);
    }
  }
}
