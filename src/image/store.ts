import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { writeFileAtomic } from "../store/atomic";
import { listDir } from "../store/dirs";
import { processStart } from "../store/process";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { withLock } from "../store/lock";
import type { ImageRef } from "./reference";

/**
 * The image store. An image is stored once under the sha256 of the archive it came from:
 *   <lib>/images/<digest>/rootfs       the unpacked root filesystem, never written after unpacking
 *   <lib>/images/<digest>/image.json   where it came from, when, how big
 *   <lib>/refs/<name>:<tag>            a name, pointing at a digest
 * An image directory appears by one rename of a complete scratch directory: a killed box leaves
 * scratch behind (collected later), never a half-unpacked image that a run would start.
 */
export interface ImageMeta {
  digest: string;
  source: string;
  created: string;
  /** Bytes of the archive it was unpacked from. */
  size: number;
}

export function imageRootfs(layout: Layout, digest: string): string {
  return join(layout.images, digest, "rootfs");
}

export function hasImage(layout: Layout, digest: string): boolean {
  return existsSync(join(layout.images, digest, "image.json"));
}

export function readMeta(layout: Layout, digest: string): ImageMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(layout.images, digest, "image.json"), "utf8")) as ImageMeta;
  } catch {
    return undefined;
  }
}

function refPath(layout: Layout, ref: ImageRef): string {
  return join(layout.refs, `${ref.name}:${ref.tag}`);
}

/** The digest a name points at, when it points at a stored image. */
export function lookupRef(layout: Layout, ref: ImageRef): string | undefined {
  try {
    const digest = readFileSync(refPath(layout, ref), "utf8").trim();
    return hasImage(layout, digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}

export function writeRef(layout: Layout, ref: ImageRef, digest: string): void {
  writeFileAtomic(refPath(layout, ref), digest + "\n");
}

export function removeRef(layout: Layout, ref: ImageRef): boolean {
  try {
    unlinkSync(refPath(layout, ref));
    return true;
  } catch {
    return false;
  }
}

export function listRefs(layout: Layout): Array<{ ref: ImageRef; digest: string }> {
  return listDir(layout.refs)
    .filter((f) => f.includes(":") && !f.includes(".tmp-"))
    .map((f) => {
      const i = f.indexOf(":");
      return { ref: { name: f.slice(0, i), tag: f.slice(i + 1) }, digest: lookupRef(layout, { name: f.slice(0, i), tag: f.slice(i + 1) }) ?? "" };
    })
    .filter((r) => r.digest !== "");
}

export function isNamed(layout: Layout, name: string): boolean {
  return listDir(layout.refs).some((f) => f.startsWith(name + ":"));
}

/** Removes an image's data (never while a container runs on it: the caller checks). */
export function removeImage(layout: Layout, digest: string): void {
  // Renamed away first, so no run can pick up a half-removed image.
  const trash = join(layout.tmp, `remove-${process.pid}-${digest}`);
  try {
    renameSync(join(layout.images, digest), trash);
  } catch {
    return;
  }
  rmSync(trash, { recursive: true, force: true });
}

/**
 * Stores an archive under its digest, unpacking it once: concurrent callers for the same digest
 * wait on a lock, and the second finds the work done. `fetch` runs under the lock too, before the
 * unpacking (a download), so that is also done once.
 */
export async function storeArchive(
  layout: Layout,
  digest: string,
  source: string,
  open: () => Promise<{ stream: Readable; size: number }>,
): Promise<string> {
  if (hasImage(layout, digest)) return imageRootfs(layout, digest);
  return withLock(join(layout.locks, `image-${digest}.lock`), async () => {
    if (hasImage(layout, digest)) return imageRootfs(layout, digest);
    const scratch = mkdtempSync(join(layout.tmp, `unpack-${process.pid}-`));
    const done = onInterrupt(() => rmSync(scratch, { recursive: true, force: true }));
    try {
      mkdirSync(join(scratch, "rootfs"), { mode: 0o755 });
      const { unpackTar } = await import("./unpack"); // tar-stream costs start-up time: load it only to unpack
      const { stream, size } = await open();
      await unpackTar(stream, join(scratch, "rootfs"));
      const meta: ImageMeta = { digest, source, created: new Date().toISOString(), size };
      writeFileSync(join(scratch, "image.json"), JSON.stringify(meta, null, 2) + "\n");
      rmSync(join(layout.images, digest), { recursive: true, force: true }); // a leftover without image.json
      renameSync(scratch, join(layout.images, digest));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      done();
    }
    return imageRootfs(layout, digest);
  });
}

/** Removes scratch files of unpacks, downloads and imports whose box process is gone. */
export function collectStaleScratch(layout: Layout): void {
  for (const entry of listDir(layout.tmp)) {
    const pid = Number(/^(?:unpack|download|import|remove)-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && processStart(pid) === undefined) {
      rmSync(join(layout.tmp, entry), { recursive: true, force: true });
    }
  }
}
