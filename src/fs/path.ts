import { E, FsError } from "./errors";

/** A path relative to a Dir: a string (UTF-8) or the exact bytes (names need not be UTF-8). */
export type PathArg = string | Uint8Array;

const SLASH = 0x2f;
const DOT = 0x2e;

export function bytes(p: PathArg): Buffer {
  const b = typeof p === "string" ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  if (b.includes(0)) throw new FsError("use", show(b), E.EINVAL, "the path contains a NUL byte");
  return b;
}

/** A path as a person reads it (bytes that are not UTF-8 shown as U+FFFD). */
export function show(p: PathArg): string {
  return typeof p === "string" ? p : Buffer.from(p).toString("utf8");
}

/** Splits "a/b/c/" into parent "a/b" and name "c". The name is never "", "." or "..". */
export function splitLast(op: string, b: Buffer): { parent: Buffer; name: Buffer } {
  let end = b.length;
  while (end > 1 && b[end - 1] === SLASH) end--;
  const slash = b.lastIndexOf(SLASH, end - 1);
  const name = b.subarray(slash + 1, end);
  const parent = slash < 0 ? Buffer.alloc(0) : slash === 0 ? Buffer.from("/") : b.subarray(0, slash);
  if (name.length === 0 || (name.length === 1 && name[0] === DOT) || (name.length === 2 && name[0] === DOT && name[1] === DOT)) {
    throw new FsError(op, show(b), E.EINVAL, `"${show(name)}" cannot be the last component`);
  }
  return { parent, name };
}

/** "" and "." and "./" name the directory itself. */
export function isSelf(b: Buffer): boolean {
  for (const c of b) if (c !== SLASH && c !== DOT) return false;
  return b.length === 0 || !b.includes(Buffer.from(".."));
}
