/**
 * The Alpine images: the one compiled into box (unpacked once, named alpine:3.20.3, no network),
 * and releases from an Alpine mirror (box pull --mirror URL alpine:TAG, or BOX_ALPINE_MIRROR).
 */
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { withLock } from "../store/lock";
import { trace } from "../trace";
import { EMBEDDED_ALPINE } from "./alpine";
import { alpineConfig, embeddedConfig } from "./alpine-config";
import { fileBytes, memoryBytes } from "./archive";
import { hexOf } from "./digest";
import { download, fetchText } from "./download";
import { alpineArch, branchOf, DEFAULT_MIRROR, indexUrl, parseReleases } from "./mirror";
import { formatRef, type ImageRef } from "./reference";
import { commitImage, loadImage, lowerDirs, openStore, pin, type StoredImage, type StorePaths } from "./store";
import { hasBlob } from "./store/blobs";
import { ensureLayer, findLayerByBlob, MEDIA } from "./store/layers";
import { blobPath } from "./store/paths";
import { readRef } from "./store/refs";

export interface Obtained {
  /** The image ID's hex digits. */
  digest: string;
  /** The overlay lowerdir option for it: its layers' short paths, top first, joined by ':'. */
  rootfs: string;
  image: StoredImage;
}

export function obtained(p: StorePaths, image: StoredImage): Obtained {
  return { digest: hexOf(image.record.id), rootfs: lowerDirs(p, image).join(":"), image };
}

const EMBEDDED_NAME = `docker.io/library/${EMBEDDED_ALPINE.name}:${EMBEDDED_ALPINE.version}`;

/** The Alpine compiled into box: unpacked once, named alpine:3.20.3. */
export async function obtainEmbedded(layout: Layout): Promise<Obtained> {
  const p = await openStore(layout);
  const id = readRef(p, EMBEDDED_NAME);
  const have = id && loadImage(p, id);
  if (have) return obtained(p, have);
  const blob = `sha256:${EMBEDDED_ALPINE.sha256}`;
  const unpin = await pin(p, [blob, EMBEDDED_ALPINE.diffID]);
  try {
    const layer = await ensureLayer(p, EMBEDDED_ALPINE.diffID, EMBEDDED_ALPINE.diffID, async () => {
      trace("image/alpine-images.ts:embedded", "unpack", { image: `alpine:${EMBEDDED_ALPINE.version} (embedded in box)`, layer: EMBEDDED_ALPINE.diffID });
      const { embedded } = await import("../embedded");
      const bytes = await Bun.file(embedded.alpinePath).bytes();
      return { bytes: memoryBytes(bytes), blob: () => ({ digest: blob, mediaType: MEDIA.ociLayerGzip, size: bytes.length }) };
    }, { label: `the embedded alpine:${EMBEDDED_ALPINE.version}` });
    const newId = await commitImage(p, { config: embeddedConfig(), layers: [layer], source: "embedded", names: [EMBEDDED_NAME] });
    return obtained(p, loadImage(p, newId)!);
  } finally {
    unpin();
  }
}

export interface PullOptions {
  mirror?: string;
  /** How long a request may go without receiving anything. */
  timeoutMs: number;
}

export function pullOptions(mirror: string | undefined, timeout: string | undefined, env = process.env): PullOptions {
  const t = timeout ?? env.BOX_PULL_TIMEOUT ?? "30";
  const secs = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || !(secs > 0)) throw new BoxError(`invalid timeout "${t}": give seconds, more than 0`);
  const m = mirror ?? env.BOX_ALPINE_MIRROR ?? DEFAULT_MIRROR;
  if (!/^https?:\/\/[^/]+/.test(m)) throw new BoxError(`invalid mirror "${m}": give an http:// or https:// URL`);
  return { mirror: m, timeoutMs: secs * 1000 };
}

/** alpine:TAG from an Alpine mirror: the release index, then the tarball, checked before it is unpacked. */
export async function pullAlpine(layout: Layout, ref: ImageRef, opts: PullOptions): Promise<Obtained> {
  if (ref.name !== "alpine") {
    throw new BoxError(`an Alpine mirror has only alpine images; pull ${formatRef(ref)} from a registry (box pull without --mirror)`);
  }
  const { branch, version } = branchOf(ref.tag);
  const index = indexUrl(opts.mirror ?? DEFAULT_MIRROR, branch, alpineArch());
  const release = parseReleases(await fetchText(index, opts.timeoutMs), index, version);
  const p = await openStore(layout);
  const blob = `sha256:${release.sha256}`;
  const unpin = await pin(p, [blob]);
  try {
    // One download and one unpack of a release, however many pulls of it run at once.
    const layer = findLayerByBlob(p, blob) ?? (await withLock(join(p.locks, `blob-${release.sha256}.lock`), async () => {
      const again = findLayerByBlob(p, blob);
      if (again) return again;
      if (!hasBlob(p, blob, release.size)) {
        const dir = mkdtempSync(join(p.tmp, `download-${process.pid}-`));
        const undo = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
        try {
          const file = join(dir, release.file);
          await download(release.url, file, release, `alpine:${release.version}`, opts.timeoutMs);
          renameSync(file, blobPath(p, blob));
        } finally {
          rmSync(dir, { recursive: true, force: true });
          undo();
        }
      }
      return ensureLayer(p, blob, undefined, async () => ({
        bytes: fileBytes(blobPath(p, blob)),
        blob: () => ({ digest: blob, mediaType: MEDIA.ociLayerGzip, size: release.size }),
      }), { label: `alpine:${release.version}` });
    }));
    const names = [...new Set([`docker.io/library/alpine:${ref.tag}`, `docker.io/library/alpine:${release.version}`])];
    const id = await commitImage(p, { config: alpineConfig(layer.diffID, layer.newest ?? 0), layers: [layer], source: release.url, names });
    logger.info(`pulled alpine:${release.version} (${ref.tag === release.version ? "" : `as ${formatRef(ref)}, `}${id.slice(0, 19)})`);
    return obtained(p, loadImage(p, id)!);
  } finally {
    unpin();
  }
}

