// What the helper tests share: the helper binary the build made, and plans written by hand.
import { join, resolve } from "node:path";

export const HELPER = join(resolve(import.meta.dir, "../.."), "zig-out/bin/box-helper");

/** A plan body (magic, version, records) with its length prefix. */
export function raw(body: string | Uint8Array): Uint8Array {
  const b = Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32LE(b.length, 0);
  b.copy(out, 4);
  return out;
}
