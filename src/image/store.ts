import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { writeFileAtomic } from "../store/atomic";
import { listDir, processStart } from "../store/containers";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { EMBEDDED_ALPINE } from "./alpine";

/** The stored root filesystem of an image: <lib>/images/<sha256 of its archive>/rootfs. */
export function imageRootfs(layout: Layout, digest: string): string {
  return join(layout.images, digest, "rootfs");
}

/**
 * Makes the embedded Alpine available in the store, unpacking it once. The unpacking happens in a
 * private scratch directory that is renamed into place when complete, so a killed box never leaves
 * a half-unpacked image that a later run would start; of two concurrent first runs, the second
 * rename loses and its copy is dropped.
 */
export async function ensureEmbeddedImage(layout: Layout, archivePath: string): Promise<string> {
  const digest = EMBEDDED_ALPINE.sha256;
  const rootfs = imageRootfs(layout, digest);
  if (existsSync(rootfs)) return rootfs;

  const scratch = mkdtempSync(join(layout.tmp, `unpack-${process.pid}-`));
  const done = onInterrupt(() => rmSync(scratch, { recursive: true, force: true }));
  try {
    mkdirSync(join(scratch, "rootfs"), { mode: 0o755 });
    const { unpackTar } = await import("./unpack"); // tar-stream costs start-up time: load it only to unpack
    const gz = new Uint8Array(await Bun.file(archivePath).arrayBuffer());
    await unpackTar(Readable.from([Buffer.from(Bun.gunzipSync(gz))]), join(scratch, "rootfs"));
    writeFileAtomic(
      join(scratch, "image.json"),
      JSON.stringify({ name: EMBEDDED_ALPINE.name, tag: EMBEDDED_ALPINE.version, digest: `sha256:${digest}`, source: "embedded" }, null, 2) + "\n",
    );
    try {
      renameSync(scratch, join(layout.images, digest));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" && code !== "ENOTEMPTY") throw err;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    done();
  }
  return rootfs;
}

/** Removes scratch directories of unpacks whose box process is gone (killed mid-way). */
export function collectStaleScratch(layout: Layout): void {
  for (const entry of listDir(layout.tmp)) {
    const pid = Number(/^unpack-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && processStart(pid) === undefined) {
      rmSync(join(layout.tmp, entry), { recursive: true, force: true });
    }
  }
}
