/**
 * How images get into the store: the embedded Alpine, a pull from an Alpine mirror, an import of a
 * tarball. Each ends with the image stored under its digest and named by refs.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { onInterrupt } from "../store/interrupt";
import type { Layout } from "../store/layout";
import { EMBEDDED_ALPINE } from "./alpine";
import { tarFromBytes, tarStream } from "./archive";
import { download, fetchText } from "./download";
import { alpineArch, branchOf, DEFAULT_MIRROR, indexUrl, parseReleases } from "./mirror";
import { formatRef, type ImageRef } from "./reference";
import { imageRootfs, lookupRef, storeArchive, writeRef } from "./store";

export interface Obtained {
  digest: string;
  rootfs: string;
}

/** The Alpine compiled into box: unpacked once, named alpine:3.20.3. */
export async function obtainEmbedded(layout: Layout): Promise<Obtained> {
  const { embedded } = await import("../embedded");
  const digest = EMBEDDED_ALPINE.sha256;
  const rootfs = await storeArchive(layout, digest, "embedded", async () => {
    const bytes = await Bun.file(embedded.alpinePath).bytes();
    return { stream: await tarFromBytes(bytes), size: bytes.length };
  });
  writeRef(layout, { name: EMBEDDED_ALPINE.name, tag: EMBEDDED_ALPINE.version }, digest);
  return { digest, rootfs };
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

/** alpine:TAG from a mirror: the release index, then the tarball, checked before it is unpacked. */
export async function pullAlpine(layout: Layout, ref: ImageRef, opts: PullOptions): Promise<Obtained> {
  if (ref.name !== "alpine") {
    throw new BoxError(`box pulls only alpine images from the Alpine mirrors; bring ${formatRef(ref)} in with box import`);
  }
  const { branch, version } = branchOf(ref.tag);
  const index = indexUrl(opts.mirror ?? DEFAULT_MIRROR, branch, alpineArch());
  const release = parseReleases(await fetchText(index, opts.timeoutMs), index, version);
  const digest = release.sha256;
  const dir = mkdtempSync(join(layout.tmp, `download-${process.pid}-`));
  const undo = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
  let rootfs: string;
  try {
    rootfs = await storeArchive(layout, digest, release.url, async () => {
      const file = join(dir, release.file);
      await download(release.url, file, release, `alpine:${release.version}`, opts.timeoutMs);
      return { stream: await tarStream(file), size: release.size };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    undo();
  }
  writeRef(layout, ref, digest);
  writeRef(layout, { name: "alpine", tag: release.version }, digest);
  logger.info(`pulled alpine:${release.version} (${ref.tag === release.version ? "" : `as ${formatRef(ref)}, `}sha256:${digest.slice(0, 12)})`);
  return { digest, rootfs };
}

function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** A tarball (or stdin with "-") named NAME:TAG. */
export async function importArchive(layout: Layout, file: string, ref: ImageRef): Promise<Obtained> {
  let path = file;
  let scratch: string | undefined;
  const undo = onInterrupt(() => scratch && rmSync(scratch, { recursive: true, force: true }));
  try {
    if (file === "-") {
      scratch = mkdtempSync(join(layout.tmp, `import-${process.pid}-`));
      path = join(scratch, "stdin.tar");
      const fd = openSync(path, "w", 0o600);
      try {
        for await (const chunk of Bun.stdin.stream()) writeSync(fd, chunk);
      } finally {
        closeSync(fd);
      }
    } else {
      let st;
      try {
        st = statSync(file);
      } catch {
        throw new BoxError(`${file} does not exist`);
      }
      if (!st.isFile()) throw new BoxError(`${file} is not a file`);
    }
    const digest = sha256File(path);
    const size = statSync(path).size;
    if (size === 0) throw new BoxError(`${file === "-" ? "stdin" : file} is empty: nothing to import`);
    const rootfs = await storeArchive(layout, digest, file === "-" ? "import:stdin" : `import:${file}`, async () => ({ stream: await tarStream(path), size }));
    writeRef(layout, ref, digest);
    return { digest, rootfs };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    undo();
  }
}

/**
 * The image `box run` asked for: a name in the store; else the embedded Alpine when the tag is one
 * of its own (no network needed); else, for alpine, a pull; anything else must be imported first.
 */
export async function obtainForRun(layout: Layout, ref: ImageRef): Promise<Obtained> {
  const stored = lookupRef(layout, ref);
  if (stored) return { digest: stored, rootfs: imageRootfs(layout, stored) };
  if (ref.name === EMBEDDED_ALPINE.name && (EMBEDDED_ALPINE.tags as readonly string[]).includes(ref.tag)) return obtainEmbedded(layout);
  if (ref.name === EMBEDDED_ALPINE.name) return pullAlpine(layout, ref, pullOptions(undefined, undefined));
  throw new BoxError(`image ${formatRef(ref)} is not in the store: bring it in with box import FILE ${formatRef(ref)}`);
}
