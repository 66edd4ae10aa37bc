import { describe, expect, test } from "bun:test";
import { decodeBytes } from "../../src/cli/bytes";
import { encodeBytes } from "../../src/spec/plan";

describe("argv and environment bytes", () => {
  test("bytes that are not UTF-8 survive the trip from box's command line into the plan", () => {
    const samples = [
      Buffer.from([0x61, 0xff, 0x62]),
      Buffer.from([0xc3, 0xa9, 0x80, 0xe2, 0x82]), // é, a stray continuation byte, a cut sequence
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate is not UTF-8 either
      Buffer.from("plain ascii"),
      Buffer.from("ünïcödé ✓ 😀"),
    ];
    for (const bytes of samples) expect(encodeBytes(decodeBytes(bytes))).toEqual(bytes);
  });

  test("valid UTF-8 decodes as usual", () => {
    expect(decodeBytes(Buffer.from("ünïcödé 😀"))).toBe("ünïcödé 😀");
    expect(decodeBytes(Buffer.from([0x61, 0xff]))).toBe("a\udcff");
  });
});
