/**
 * A streaming tar reader that keeps every byte as written.
 *
 * Why not tar-stream (which box still uses to write archives): it decodes names and pax values as
 * UTF-8, so a name that is not UTF-8 and a binary extended attribute (security.capability, a
 * little-endian struct) come out changed. Here names, link targets and xattr values stay Buffers.
 *
 * Formats: POSIX ustar and pax (per-entry and global headers), GNU (long names 'L' and 'K',
 * base-256 numbers), v7. Refused: sparse files and multi-volume archives (no image layer uses them).
 * Nothing is held beyond one 512-byte block and the current chunk, except long-name and pax
 * headers, which are capped at 1 MiB each.
 */
import { bad, BLOCK, checksumOk, cstring, MAX_META, numeric, parsePax, typeOf, type Pax } from "./tar-header";

export type EntryType = "file" | "dir" | "symlink" | "link" | "char" | "block" | "fifo";

export interface TarEntry {
  /** The member name, exact bytes (pax path or GNU long name applied). */
  name: Buffer;
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (0 for everything but regular files). */
  size: number;
  mtime: { sec: number; nsec: number };
  /** Symbolic link target or hard link target, exact bytes. */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** Extended attributes (SCHILY.xattr.* or LIBARCHIVE.xattr.*), values as written. */
  xattrs: Array<[string, Buffer]>;
}

/** Entries one at a time, each regular file's data read (or skipped) before the next: a tar
 * stream (TarReader), or a tree of files walked (src/copy). */
export interface EntrySource {
  next(): Promise<TarEntry | undefined>;
  body(): AsyncGenerator<Buffer>;
  drain(): Promise<void>;
}

/**
 * Reads entries one by one from a byte source. `next()` skips whatever of the previous entry's
 * data was not read; `body()` yields the current entry's data as it arrives.
 */
export class TarReader implements EntrySource {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private remaining = 0; // data bytes of the current entry not yet read
  private padding = 0; // bytes after them up to the next block
  private global: Pax = { xattrs: [] };
  private ended = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      const r = await this.it.next();
      if (r.done) return false;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.buffered += b.length;
    }
    return true;
  }

  /** Takes up to n buffered bytes from the front (at least one, when anything is buffered). */
  private takeSome(n: number): Buffer {
    const head = this.chunks[0]!;
    if (head.length <= n) {
      this.chunks.shift();
      this.buffered -= head.length;
      this.offset += head.length;
      return head;
    }
    this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    this.offset += n;
    return head.subarray(0, n);
  }

  private async take(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) bad(`it ends in the middle of ${what}`);
    if (this.chunks[0]!.length >= n) return this.takeSome(n);
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const part = this.takeSome(n - got);
      part.copy(out, got);
      got += part.length;
    }
    return out;
  }

  private async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      if (!(await this.fill(1))) bad(`it ends in the middle of ${what}`);
      n -= this.takeSome(n).length;
    }
  }

  /** The data of the current entry, in chunks as they arrive. */
  async *body(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      if (!(await this.fill(1))) bad("it ends in the middle of a file's data");
      const part = this.takeSome(this.remaining);
      this.remaining -= part.length;
      yield part;
    }
  }

  /** The next entry, or undefined at the end of the archive. */
  async next(): Promise<TarEntry | undefined> {
    if (this.ended) return undefined;
    await this.skip(this.remaining + this.padding, "a file's data");
    this.remaining = this.padding = 0;
    const local: Pax = { xattrs: [] };
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    for (;;) {
      if (!(await this.fill(1))) {
        // No end-of-archive blocks: accepted, as GNU tar does.
        this.ended = true;
        return undefined;
      }
      const block = await this.take(BLOCK, "a header");
      if (block.every((b) => b === 0)) {
        this.ended = true;
        return undefined;
      }
      if (!checksumOk(block)) bad(`a header at byte ${this.offset - BLOCK} has a wrong checksum`);
      const flag = String.fromCharCode(block[156]!);
      const size = numeric(block, 124, 12, "size");
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > MAX_META) bad(`an extended header of ${size} bytes (at most ${MAX_META})`);
        const data = await this.take(size, "an extended header");
        await this.skip(pad, "an extended header");
        if (flag === "x") parsePax(data, local);
        else if (flag === "g") parsePax(data, this.global);
        else {
          let end = data.length;
          while (end > 0 && data[end - 1] === 0) end--;
          if (flag === "L") longName = Buffer.from(data.subarray(0, end));
          else longLink = Buffer.from(data.subarray(0, end));
        }
        continue;
      }
      const type = typeOf(flag);
      if (type === "skip") {
        await this.skip(size + pad, "a volume header");
        continue;
      }
      const magic = block.subarray(257, 263).toString("latin1");
      let name = cstring(block, 0, 100);
      if (magic === "ustar\0") {
        const prefix = cstring(block, 345, 155);
        if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from("/"), name]);
      }
      const pax = { ...this.global, ...local, xattrs: [...this.global.xattrs, ...local.xattrs] } as Pax;
      const entry: TarEntry = {
        name: local.path ?? longName ?? this.global.path ?? name,
        type,
        mode: numeric(block, 100, 8, "mode") & 0o7777,
        uid: pax.uid ?? numeric(block, 108, 8, "uid"),
        gid: pax.gid ?? numeric(block, 116, 8, "gid"),
        size: 0,
        mtime: pax.mtime ?? { sec: numeric(block, 136, 12, "mtime"), nsec: 0 },
        linkname: local.linkpath ?? longLink ?? cstring(block, 157, 100),
        devmajor: type === "char" || type === "block" ? numeric(block, 329, 8, "device major") : 0,
        devminor: type === "char" || type === "block" ? numeric(block, 337, 8, "device minor") : 0,
        xattrs: pax.xattrs,
      };
      const dataSize = local.size ?? size;
      // Only regular files (and GNU dump directories, whose listing is skipped) carry data; for the
      // other types the size field is ignored, as GNU tar and Go's archive/tar do.
      const carries = type === "file" || (type === "dir" && flag === "D");
      const total = carries ? dataSize : 0;
      this.remaining = total;
      this.padding = (BLOCK - (total % BLOCK)) % BLOCK;
      if (type === "dir" && flag === "D") {
        await this.skip(this.remaining + this.padding, "a directory listing");
        this.remaining = this.padding = 0;
      } else if (type === "file") entry.size = dataSize;
      return entry;
    }
  }

  /** Reads what follows the end of the archive (so a digest over the whole stream is complete). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    for (;;) {
      const r = await this.it.next();
      if (r.done) return;
    }
  }
}

