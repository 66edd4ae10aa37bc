/**
 * box pull from a registry:
 *   1. the manifest of the reference (by tag or digest; a digest is checked against the bytes);
 *      an index or manifest list gives its linux/amd64 manifest, a sentence naming the platforms
 *      offered when it has none; docker schema 1 is refused by name;
 *   2. the config (checked against its digest) and its layer list;
 *   3. each layer not in the store yet, three at a time: its blob streams from the registry into
 *      the store's blob file and, at the same time, through the decompressor into the unpacker;
 *      its size and digest are checked on the way and at the end, its content against the
 *      config's diffID. A broken connection resumes where it stopped (a Range request); 5xx and
 *      429 are retried with backoff; a transfer that sends nothing for the timeout stalls;
 *   4. the image appears, then its name (and its digest reference).
 * A pull cut short leaves complete blobs and layers (reused by the next pull) and scratch that
 * the next box collects, never a half image.
 */
import { isatty } from "../../sys/terminal";
import { BoxError } from "../../errors";
import type { Layout } from "../../store/layout";
import { fileBytes, type Bytes } from "../archive";
import { parseConfig } from "../config";
import { hasher, hexOf, sha256 } from "../digest";
import { humanSize } from "../../human";
import { checkLayerType, parseManifest, pickPlatform, platformName, type Descriptor } from "../oci";
import { Progress, type Bar } from "../progress";
import { familiar, fullName, repoName, tagName, type Reference } from "../reference";
import { commitImage, loadImage, openStore, pin, readRecord, type StorePaths } from "../store";
import { BlobWriter, hasBlob } from "../store/blobs";
import { ensureLayer, readLayer, type LayerRecord } from "../store/layers";
import { blobPath } from "../store/paths";
import { readRef } from "../store/refs";
import { loadCredentials } from "./auth";
import { insecureList, Registry } from "./client";
import { backoff, bodyChunks, DEFAULT_HTTP, describeNetError, readSmall, sleep, StallError, type HttpOptions } from "./http";

export interface RegistryOptions {
  http: HttpOptions;
  insecure: string[];
  /** Layers fetched at once. */
  concurrency: number;
  quiet: boolean;
}

/** Options from the command line and the environment (BOX_PULL_TIMEOUT, BOX_INSECURE_REGISTRIES). */
export function registryOptions(o: { timeout?: string; insecure?: readonly string[]; quiet?: boolean }, env: Record<string, string | undefined> = process.env): RegistryOptions {
  const t = o.timeout ?? env.BOX_PULL_TIMEOUT ?? "30";
  const secs = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || !(secs > 0)) throw new BoxError(`invalid timeout "${t}": give seconds, more than 0`);
  const a = env.BOX_PULL_ATTEMPTS ?? String(DEFAULT_HTTP.attempts);
  if (!/^\d+$/.test(a) || Number(a) < 1 || Number(a) > 20) throw new BoxError(`invalid BOX_PULL_ATTEMPTS "${a}": give a number from 1 to 20`);
  return { http: { ...DEFAULT_HTTP, timeoutMs: secs * 1000, attempts: Number(a) }, insecure: insecureList(o.insecure ?? [], env), concurrency: 3, quiet: o.quiet === true };
}

const MAX_CONFIG = 8 << 20;

/** Pulls an image and names it; returns its ID. */
export async function pullImage(layout: Layout, ref: Reference, opts: RegistryOptions): Promise<string> {
  const p = await openStore(layout);
  const name = fullName(ref);
  const reg = new Registry(ref.registry, opts.http, loadCredentials(layout.lib, ref.registry), opts.insecure);
  const repo = ref.repository;
  const tty = isatty(2);
  const progress = new Progress(tty, opts.quiet);

  // 1. The manifest (through an index when there is one).
  const wantRef = ref.digest ?? ref.tag ?? "latest";
  const top = await reg.manifest(repo, wantRef, familiar(name));
  const topDigest = sha256(top.bytes);
  if (ref.digest && topDigest !== ref.digest) throw new BoxError(`${ref.registry} answered ${familiar(name)} with a manifest of another digest (${topDigest}): refusing it`);
  if (!ref.digest && top.digest && top.digest !== topDigest) throw new BoxError(`the manifest of ${familiar(name)} does not match the digest ${ref.registry} announces for it (${top.digest}): refusing it`);
  let parsed = parseManifest(top.bytes, top.contentType, `the manifest of ${familiar(name)}`);
  let manifestBytes = top.bytes;
  let manifestDigest = topDigest;
  if (parsed.kind === "index") {
    const d = pickPlatform(parsed.manifests, familiar(name));
    const m = await reg.manifest(repo, d.digest, `the ${d.platform ? platformName(d.platform) : ""} manifest of ${familiar(name)}`.replace("the  ", "the "));
    if (sha256(m.bytes) !== d.digest || m.bytes.length !== d.size) throw new BoxError(`the linux/amd64 manifest of ${familiar(name)} does not match its digest or size in the index: refusing it`);
    manifestBytes = m.bytes;
    manifestDigest = d.digest;
    parsed = parseManifest(m.bytes, m.contentType ?? d.mediaType, `the manifest ${d.digest} of ${familiar(name)}`);
    if (parsed.kind !== "manifest") throw new BoxError(`${familiar(name)} has an index inside an index, which box does not follow`);
  }
  const manifest = parsed;
  for (const l of manifest.layers) checkLayerType(l, `the manifest of ${familiar(name)}`);
  const repoDigest = `${repoName(ref)}@${topDigest}`;
  const names = ref.digest && !ref.tag ? [] : [tagName(ref)];

  // Already here, complete: only the names are new.
  const known = loadImage(p, manifest.config.digest);
  if (known) {
    const current = names.map((n) => readRef(p, n));
    if (current.every((id) => id === known.record.id) && readRecord(p, known.record.id)?.repoDigests.includes(repoDigest)) {
      progress.note(`${familiar(name)}: image is up to date`);
    }
    return commitImage(p, { config: Buffer.from(await configBytes(reg, repo, manifest.config, name, opts.http)), layers: known.layers, manifest: { ...describe(manifestBytes, manifestDigest, manifest.mediaType), bytes: manifestBytes }, repoDigest, source: `pull of ${name}`, names });
  }

  // 2. The config.
  const config = await configBytes(reg, repo, manifest.config, name, opts.http);
  const cfg = parseConfig(config, `the config of ${familiar(name)}`);
  if (cfg.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new BoxError(`the manifest of ${familiar(name)} lists ${manifest.layers.length} layers but its config ${cfg.rootfs.diff_ids.length}: refusing it`);
  }
  if ((cfg.os && cfg.os !== "linux") || (cfg.architecture && cfg.architecture !== "amd64")) {
    throw new BoxError(`${familiar(name)} is an image for ${[cfg.os, cfg.architecture, cfg.variant].filter(Boolean).join("/")}, and box runs linux/amd64 images`);
  }

  // 3. The layers.
  const total = manifest.layers.reduce((n, l) => n + l.size, 0);
  progress.note(`pulling ${familiar(name)} (${manifest.layers.length} layer${manifest.layers.length === 1 ? "" : "s"}, ${humanSize(total)})`);
  const unpin = await pin(p, [...cfg.rootfs.diff_ids, ...manifest.layers.map((l) => l.digest), manifest.config.digest]);
  try {
    const bars = manifest.layers.map((l) => progress.bar(hexOf(l.digest).slice(0, 12), l.size));
    manifest.layers.forEach((_, i) => {
      if (readLayer(p, cfg.rootfs.diff_ids[i]!)) bars[i]!.finish("Already exists");
    });
    const records: LayerRecord[] = new Array(manifest.layers.length);
    const queue = manifest.layers.map((l, i) => i);
    let failed: unknown;
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined && failed === undefined; i = queue.shift()) {
        try {
          records[i] = await fetchLayer(p, reg, repo, manifest.layers[i]!, cfg.rootfs.diff_ids[i]!, bars[i]!, name, opts);
        } catch (err) {
          failed ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, queue.length) || 1 }, worker));
    if (failed !== undefined) throw failed;
    // 4. The image, then its names.
    return await commitImage(p, {
      config: Buffer.from(config),
      layers: records,
      manifest: { ...describe(manifestBytes, manifestDigest, manifest.mediaType), bytes: manifestBytes },
      repoDigest,
      source: `pull of ${name}`,
      names,
    });
  } finally {
    unpin();
  }
}

function describe(bytes: Buffer, digest: string, mediaType: string) {
  return { digest, mediaType, size: bytes.length };
}

async function configBytes(reg: Registry, repo: string, d: Descriptor, name: string, http: HttpOptions): Promise<Buffer> {
  if (d.size > MAX_CONFIG) throw new BoxError(`the config of ${familiar(name)} is ${d.size} bytes, more than the ${MAX_CONFIG} box accepts`);
  const res = await reg.blob(repo, d.digest, 0, `the config of ${familiar(name)}`);
  const bytes = await readSmall(res, MAX_CONFIG, http.timeoutMs, `the config of ${familiar(name)}`);
  if (sha256(bytes) !== d.digest || bytes.length !== d.size) throw new BoxError(`the config of ${familiar(name)} does not match its digest: refusing it`);
  return bytes;
}

/**
 * A blob's bytes from the registry, resuming after a broken or stalled connection with a Range
 * request (or skipping what was already read when the registry ignores Range), checked against
 * the size and digest the manifest gives.
 */
async function* blobStream(reg: Registry, repo: string, d: Descriptor, what: string, http: HttpOptions, bar: Bar): AsyncGenerator<Uint8Array> {
  const h = hasher();
  let offset = 0;
  let lastError = "";
  for (let attempt = 1; ; attempt++) {
    const res = await reg.blob(repo, d.digest, offset, what);
    let skip = 0;
    if (offset > 0) {
      const range = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
      if (res.status === 206 && (!range || Number(range[1]) !== offset)) throw new BoxError(`${reg.registry} resumed ${what} at the wrong place`);
      if (res.status === 200) skip = offset;
    }
    try {
      for await (let chunk of bodyChunks(res, http.timeoutMs, what)) {
        if (skip > 0) {
          const drop = Math.min(skip, chunk.length);
          skip -= drop;
          chunk = chunk.subarray(drop);
          if (chunk.length === 0) continue;
        }
        if (offset + chunk.length > d.size) throw new BoxError(`${what} is larger than the ${d.size} bytes its manifest gives: refusing it`);
        h.update(chunk);
        offset += chunk.length;
        bar.update(offset);
        yield chunk;
      }
      if (offset === d.size) {
        if (h.digest() !== d.digest) throw new BoxError(`${what} does not match its digest ${d.digest}: refusing it`);
        return;
      }
      lastError = `it broke off after ${offset} of ${d.size} bytes`;
    } catch (err) {
      if (err instanceof BoxError) throw err;
      lastError = err instanceof StallError ? `nothing arrived for ${http.timeoutMs / 1000} s` : describeNetError(err, reg.host);
    }
    if (attempt >= http.attempts) throw new BoxError(`the download of ${what} failed ${attempt} times: ${lastError}`);
    await sleep(backoff(http, attempt));
  }
}

async function fetchLayer(p: StorePaths, reg: Registry, repo: string, d: Descriptor, diffID: string, bar: Bar, name: string, opts: RegistryOptions): Promise<LayerRecord> {
  const have = readLayer(p, diffID);
  if (have) return have; // its bar already says so
  const what = `layer ${hexOf(d.digest).slice(0, 12)} of ${familiar(name)}`;
  let writer: BlobWriter | undefined;
  try {
    const rec = await ensureLayer(p, diffID, diffID, async () => {
      const info = { digest: d.digest, mediaType: d.mediaType, size: d.size };
      // A complete blob from an earlier pull that was cut short: no need to download it again.
      if (hasBlob(p, d.digest, d.size)) return { bytes: fileBytes(blobPath(p, d.digest)), blob: () => info };
      // blobStream checks the digest as the bytes arrive, and fails before the end when it is wrong.
      const w = (writer = new BlobWriter(p, { digest: d.digest, size: d.size, checkedByCaller: true }, what));
      const bytes: Bytes = (async function* () {
        for await (const c of blobStream(reg, repo, d, what, opts.http, bar)) {
          w.write(c);
          yield c;
        }
      })();
      return {
        bytes,
        blob: () => {
          w.commit();
          return info;
        },
      };
    }, { label: what });
    bar.finish("Pull complete");
    return rec;
  } catch (err) {
    bar.finish("Failed");
    // A layer that would not unpack may be a blob that was damaged on the way: read the rest of
    // it, and when its digest is wrong, say that (the cause), not what the unpacker tripped on.
    const w = writer as BlobWriter | undefined;
    if (w && !(err instanceof BoxError && /digest/.test(err.message))) {
      let wrong = false;
      try {
        await completeBlob(reg, repo, d, w, what, opts.http);
        wrong = w.size === d.size && w.digestOfFile() !== d.digest;
      } catch {
        /* the registry failed again: the first error stands */
      }
      if (wrong) throw new BoxError(`${what} does not match its digest ${d.digest}: refusing it`);
    }
    throw err;
  } finally {
    writer?.abort();
  }
}

/** Reads the rest of a blob into its writer (no unpacking), from where it stopped. */
async function completeBlob(reg: Registry, repo: string, d: Descriptor, w: BlobWriter, what: string, http: HttpOptions): Promise<void> {
  if (w.size >= d.size) return;
  const res = await reg.blob(repo, d.digest, w.size, what);
  let skip = res.status === 200 ? w.size : 0;
  for await (let chunk of bodyChunks(res, http.timeoutMs, what)) {
    if (skip > 0) {
      const drop = Math.min(skip, chunk.length);
      skip -= drop;
      chunk = chunk.subarray(drop);
    }
    if (chunk.length) w.write(chunk);
  }
}
