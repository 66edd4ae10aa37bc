import { constants } from "node:os";
import { strerror } from "./libc";

export const E = { ENOENT: 2, EXDEV: 18, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, EFBIG: 27, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, EBUSY: 16, EEXIST: 17, ENOTSUP: 95 } as const;

/** A failed file operation: errno, what was done, and on which path (relative to the Dir). */
export class FsError extends Error {
  readonly code: string;
  constructor(
    readonly op: string,
    readonly path: string,
    readonly errno: number,
    reason?: string,
  ) {
    super(`cannot ${op} "${path}": ${reason ?? describeErrno(errno)}`);
    this.name = "FsError";
    this.code = errnoName(errno);
  }
}

// node:util and node:crypto cost Bun several ms to load; errno names come from node:os instead.
let names: Map<number, string> | undefined;

export function errnoName(n: number): string {
  names ??= new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));
  return names.get(n) ?? `E${n}`;
}

function describeErrno(n: number): string {
  const raw = strerror(n);
  const text = raw.charAt(0).toLowerCase() + raw.slice(1);
  return n === E.ELOOP ? `${text} (a symbolic link is in the way)` : n === E.EXDEV ? `${text} (it leads outside)` : text;
}

export function isFsError(err: unknown, ...codes: string[]): err is FsError {
  return err instanceof FsError && (codes.length === 0 || codes.includes(err.code));
}
