/**
 * The format box pack appends to a copy of box (src/image/pack/format.ts), read strictly: every
 * number of the header checked against the file and against the header's own checksum, the index
 * field by field (blobs inside the payload, never overlapping, images made of listed blobs), and
 * where an ELF file ends. No root needed.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import { BoxError } from "../../src/errors";
import { decodeHeader, elfExtent, encodeHeader, HEADER_SIZE, parseIndex, type Header } from "../../src/image/pack/format";

const digest = (c: string) => "sha256:" + c.repeat(64);
const damaged = (why: string): never => {
  throw new BoxError(why);
};

function header(over: Partial<Header> = {}): Header {
  return { total: 1000, indexOffset: 900, indexLength: 100, indexDigest: digest("a"), ...over };
}

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
};

describe("pack format: the header", () => {
  test("reads back what was written", () => {
    const h = header();
    expect(decodeHeader(encodeHeader(h), 1000, damaged)).toEqual(h);
    expect(encodeHeader(h)).toHaveLength(HEADER_SIZE);
  });

  test("a flipped bit anywhere in it, a cut or a longer file: refused, saying which", () => {
    const good = encodeHeader(header());
    for (let i = 0; i < HEADER_SIZE; i++) {
      const b = Buffer.from(good);
      b[i]! ^= 0x04;
      expect({ i, why: reason(() => decodeHeader(b, 1000, damaged)) }).toEqual({ i, why: expect.stringMatching(/^(the header of its carried images is corrupt|the 1000 bytes after the executable are not images box packed)$/) });
    }
    expect(reason(() => decodeHeader(good.subarray(0, 50), 50, damaged))).toBe("it has 50 bytes after the executable, too few for box's header");
    expect(reason(() => decodeHeader(good, 999, damaged))).toBe("it is truncated (its carried images end after 999 of 1000 bytes)");
    expect(reason(() => decodeHeader(good, 1001, damaged))).toBe("it has 1 bytes more than its carried images account for");
    expect(reason(() => decodeHeader(encodeHeader(header({ indexOffset: 10 })), 1000, damaged))).toBe("the header of its carried images is corrupt");
    expect(reason(() => decodeHeader(encodeHeader(header({ indexLength: 99 })), 1000, damaged))).toBe("the header of its carried images is corrupt");
  });
});

describe("pack format: the index", () => {
  const h = header({ indexOffset: 1096, total: 1196 });
  const blobs = [
    { digest: digest("1"), offset: 96, size: 500 },
    { digest: digest("2"), offset: 596, size: 400 },
    { digest: digest("3"), offset: 996, size: 100 },
  ];
  const image = { id: digest("2"), names: ["docker.io/library/demo:1"], manifest: digest("3"), created: "2024-01-01T00:00:00Z", size: 7 };
  const ok = (n: string) => /^docker\.io\//.test(n);
  const parse = (doc: unknown) => reason(() => parseIndex(JSON.stringify(doc), h, ok, damaged));

  test("a good one is read, blobs in file order", () => {
    const idx = parseIndex(JSON.stringify({ version: 1, images: [image], blobs: [blobs[2], blobs[0], blobs[1]] }), h, ok, damaged);
    expect(idx.blobs.map((b) => b.offset)).toEqual([96, 596, 996]);
    expect(idx.images).toEqual([image]);
  });

  test("anything out of place is refused by name", () => {
    const cases: Array<[unknown, string]> = [
      [{ version: 2, images: [], blobs: [] }, "it lacks version, images or blobs"],
      [{ version: 1, images: [], blobs: [{ digest: "md5:x", offset: 96, size: 1 }] }, "a blob lacks a digest, offset or size"],
      [{ version: 1, images: [], blobs: [blobs[0], blobs[0]] }, `the blob ${digest("1")} is listed twice`],
      [{ version: 1, images: [], blobs: [{ ...blobs[0], offset: 10 }] }, `the blob ${digest("1")} lies outside the payload`],
      [{ version: 1, images: [], blobs: [{ ...blobs[2], size: 101 }] }, `the blob ${digest("3")} lies outside the payload`],
      [{ version: 1, images: [], blobs: [blobs[0], { ...blobs[1], offset: 595 }] }, "two blobs overlap"],
      [{ version: 1, images: [{ ...image, manifest: digest("9") }], blobs }, `image ${digest("2")} needs the blob ${digest("9")}, which is not there`],
      [{ version: 1, images: [{ ...image, names: ["../../etc"] }], blobs }, `image ${digest("2")} has a name box cannot take`],
      [{ version: 1, images: [{ ...image, size: -1 }], blobs }, "an image lacks its id, manifest, names, created or size"],
    ];
    for (const [doc, why] of cases) expect(parse(doc)).toBe(`in the index of its carried images, ${why}`);
    expect(reason(() => parseIndex("{", h, ok, damaged))).toBe("the index of its carried images is not JSON");
  });
});

describe("pack format: where an ELF file ends", () => {
  function extentOf(path: string) {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      return { size, ...elfExtent((o, n) => {
        const b = Buffer.alloc(n);
        return b.subarray(0, readSync(fd, b, 0, n, o));
      }, size) };
    } finally {
      closeSync(fd);
    }
  }

  test("dist/box ends where its file ends, and keeps Bun's payload in a loaded .bun section", () => {
    const box = join(resolve(import.meta.dir, "../.."), "dist/box");
    if (!existsSync(box)) return; // npm test builds it first
    const e = extentOf(box);
    expect(e.end).toBe(e.size);
    expect(e.bunMapped).toBe(true);
  });

  test("a file that is not an ELF executable is refused", () => {
    expect(reason(() => extentOf(import.meta.path))).toBe("box's own executable is not a 64-bit little-endian ELF file");
  });
});
