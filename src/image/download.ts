import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { onInterrupt } from "../store/interrupt";
import { errOut } from "../sys/out";
import { isatty } from "../sys/terminal";

export interface Expected {
  size: number;
  sha256: string;
  sha512?: string;
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** A progress bar on a terminal (bytes, rate, ETA), redrawn in place on stderr; nothing otherwise. */
class Progress {
  private readonly start = performance.now();
  private last = 0;
  constructor(private readonly label: string, private readonly total: number, private readonly tty: boolean) {}
  update(done: number, final = false): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!final && now - this.last < 100) return;
    this.last = now;
    const secs = Math.max((now - this.start) / 1000, 0.001);
    const rate = done / secs;
    const frac = this.total > 0 ? Math.min(done / this.total, 1) : 0;
    const width = 24;
    const bar = "=".repeat(Math.floor(frac * width)).padEnd(width, " ");
    const eta = rate > 0 && this.total > done ? `${Math.ceil((this.total - done) / rate)}s` : "0s";
    errOut(`\r${this.label} [${bar}] ${human(done)}/${human(this.total)} ${human(rate)}/s ETA ${eta}\x1b[K`);
    if (final) errOut("\n");
  }
}

async function get(url: string, signal: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: "follow" });
  } catch (err) {
    if (signal.aborted) throw new BoxError(`${url} did not answer in time`);
    throw new BoxError(`cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new BoxError(`${url} answered HTTP ${res.status}${res.statusText ? " " + res.statusText : ""}`);
  return res;
}

/** A small text document, with a timeout for the whole request. */
export async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await get(url, controller.signal);
    return await res.text();
  } catch (err) {
    if (controller.signal.aborted && !(err instanceof BoxError)) throw new BoxError(`${url} did not answer in time`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Downloads url to dest, checking size, sha256 and sha512 before anything may use it: the bytes go
 * to dest.part, which is renamed to dest only once all checks pass and is removed on any failure.
 * A transfer that stalls for stallMs fails.
 */
export async function download(url: string, dest: string, expected: Expected, label: string, stallMs: number): Promise<void> {
  const part = `${dest}.part`;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), stallMs);
  const fd = openSync(part, "w", 0o600);
  const undo = onInterrupt(() => rmSync(part, { force: true }));
  let ok = false;
  try {
    const res = await get(url, controller.signal);
    const sha256 = new Bun.CryptoHasher("sha256");
    const sha512 = new Bun.CryptoHasher("sha512");
    const tty = isatty(2);
    const progress = new Progress(label, expected.size, tty);
    if (!tty) logger.info(`pulling ${label} (${human(expected.size)}) from ${url}`);
    let got = 0;
    const reader = res.body!.getReader();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (controller.signal.aborted) throw new BoxError(`the download of ${url} stalled for ${stallMs / 1000} s`);
        throw new BoxError(`the download of ${url} broke off after ${human(got)}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (chunk.done) break;
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), stallMs);
      got += chunk.value.length;
      if (got > expected.size) throw new BoxError(`${url} is larger than the ${expected.size} bytes the mirror announced`);
      writeSync(fd, chunk.value);
      sha256.update(chunk.value);
      sha512.update(chunk.value);
      progress.update(got);
    }
    progress.update(got, true);
    if (got !== expected.size) throw new BoxError(`${url} ended after ${got} of ${expected.size} bytes`);
    if (sha256.digest("hex") !== expected.sha256) throw new BoxError(`${url} does not match its sha256: refusing it`);
    if (expected.sha512 && sha512.digest("hex") !== expected.sha512) throw new BoxError(`${url} does not match its sha512: refusing it`);
    fsyncSync(fd);
    ok = true;
  } finally {
    clearTimeout(timer);
    closeSync(fd);
    if (ok) renameSync(part, dest);
    else rmSync(part, { force: true });
    undo();
  }
}
