/**
 * Blobs by digest. A blob appears under its name only complete and verified: it is written to a
 * scratch file in tmp/ (blob-<pid>-...), its sha256 and size checked, then renamed into place. An
 * interrupted write leaves scratch that the next box collects, never a half blob; a complete blob
 * is reused by the next pull or load.
 */
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { BoxError, describeSystemError } from "../../errors";
import { writeAll } from "../../fs/dir";
import { onInterrupt } from "../../store/interrupt";
import { hasher, sha256 } from "../digest";
import { blobPath, type StorePaths } from "./paths";

export function scratchPath(p: StorePaths, kind: string): string {
  const rand = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  return join(p.tmp, `${kind}-${process.pid}-${rand}`);
}

export function hasBlob(p: StorePaths, digest: string, size?: number): boolean {
  try {
    const st = statSync(blobPath(p, digest));
    return st.isFile() && (size === undefined || st.size === size);
  } catch {
    return false;
  }
}

export function blobSize(p: StorePaths, digest: string): number | undefined {
  try {
    return statSync(blobPath(p, digest)).size;
  } catch {
    return undefined;
  }
}

/**
 * A small stored blob (a config, a manifest), read whole and checked against its digest.
 * Undefined when it is missing, larger than cap, or damaged (its content does not match).
 */
export function readBlob(p: StorePaths, digest: string, cap = 4 << 20): Buffer | undefined {
  let data: Buffer;
  try {
    const path = blobPath(p, digest);
    if (statSync(path).size > cap) return undefined;
    data = readFileSync(path);
  } catch {
    return undefined;
  }
  return sha256(data) === digest ? data : undefined;
}

/** Stores data as a blob (if not there already) and returns its digest. */
export function writeBlob(p: StorePaths, data: Uint8Array): string {
  const digest = sha256(data);
  if (hasBlob(p, digest, data.length)) return digest;
  const w = new BlobWriter(p, { digest, size: data.length }, "a blob");
  try {
    w.write(data);
    return w.commit();
  } catch (err) {
    w.abort();
    throw err;
  }
}

export interface Expected {
  digest?: string;
  size?: number;
  /** The caller checks the digest itself as the bytes arrive (a pull): not computed twice. */
  checkedByCaller?: boolean;
}

/** Writes one blob as its bytes arrive, checking size on the way and the digest at the end. */
export class BlobWriter {
  readonly tmp: string;
  private fd: number;
  private readonly h = hasher();
  private readonly undo: () => void;
  private done = false;
  size = 0;

  constructor(
    private readonly p: StorePaths,
    private readonly expected: Expected,
    /** Names the blob in sentences: "layer sha256:1234 of docker.io/library/nginx:latest". */
    private readonly what: string,
  ) {
    this.tmp = scratchPath(p, "blob");
    this.fd = openSync(this.tmp, "wx", 0o600);
    this.undo = onInterrupt(() => this.abort());
  }

  write(chunk: Uint8Array): void {
    if (this.expected.size !== undefined && this.size + chunk.length > this.expected.size) {
      throw new BoxError(`${this.what} is larger than the ${this.expected.size} bytes its manifest gives`);
    }
    try {
      writeAll(this.fd, chunk);
    } catch (err) {
      throw new BoxError(`cannot store ${this.what}: ${describeSystemError(err, false)}`);
    }
    if (!this.expected.checkedByCaller) this.h.update(chunk);
    this.size += chunk.length;
  }

  /** Checks and renames the blob into place; returns its digest. */
  commit(): string {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    const digest = this.expected.checkedByCaller && this.expected.digest ? this.expected.digest : this.h.digest();
    try {
      if (this.expected.size !== undefined && this.size !== this.expected.size) {
        throw new BoxError(`${this.what} ended after ${this.size} of ${this.expected.size} bytes`);
      }
      if (this.expected.digest !== undefined && digest !== this.expected.digest) {
        throw new BoxError(`${this.what} does not match its digest (got ${digest}): refusing it`);
      }
      renameSync(this.tmp, blobPath(this.p, digest));
      this.done = true;
    } catch (err) {
      this.abort();
      throw err;
    }
    this.undo();
    return digest;
  }

  /** The digest of what was written so far, read back from the scratch file. */
  digestOfFile(): string {
    const h = hasher();
    const fd = openSync(this.tmp, "r");
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return h.digest();
  }

  /** Removes the scratch file; the blob never appears (nothing once it is committed). */
  abort(): void {
    if (this.done) return;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* closed */
      }
      this.fd = -1;
    }
    rmSync(this.tmp, { force: true });
    this.undo();
  }
}
