/**
 * HTTP for registries: a time limit on every answer, retries with exponential backoff on 5xx,
 * 429 (honouring Retry-After) and broken connections, redirects followed by hand (credentials are
 * never sent to another host), and bodies read with a stall timer.
 */
import { BoxError } from "../../errors";
import { logger } from "../../logger";

export interface HttpOptions {
  /** How long a request may wait for an answer, and a body for its next bytes. */
  timeoutMs: number;
  /** Attempts at most (the first included). */
  attempts: number;
  /** The base of the backoff (doubled each time, with jitter). */
  backoffMs: number;
}

export const DEFAULT_HTTP: HttpOptions = { timeoutMs: 30_000, attempts: 5, backoffMs: 500 };

/** The longest Retry-After box waits for; longer is an error that says so. */
const MAX_RETRY_AFTER_S = 120;

function code(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
}

/** A sentence for a failed connection. */
export function describeNetError(err: unknown, host: string): string {
  switch (code(err)) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot reach ${host}: the name does not resolve (is this machine offline?)`;
    case "ECONNREFUSED":
      return `cannot reach ${host}: connection refused`;
    case "ECONNRESET":
      return `the connection to ${host} was reset`;
    case "CERT_HAS_EXPIRED":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `cannot reach ${host}: its TLS certificate is not trusted (${code(err)})`;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return `cannot reach ${host}: ${msg.replace(/\. For more information.*$/s, "")}`;
}

/** Errors worth another attempt: a reset or a broken connection, never a name that does not resolve. */
function retriable(err: unknown): boolean {
  return ["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "UND_ERR_SOCKET"].includes(code(err)) || (err instanceof Error && /socket|closed unexpectedly/i.test(err.message));
}

/** Seconds from a Retry-After header (seconds or an HTTP date). */
export function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, (t - Date.now()) / 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function backoff(opts: HttpOptions, attempt: number): number {
  const base = opts.backoffMs * 2 ** (attempt - 1);
  return Math.min(base, 10_000) * (0.75 + Math.random() * 0.5);
}

export interface Req {
  method?: string;
  headers?: Record<string, string>;
}

/**
 * One request with its retries. Answers 4xx (and 5xx once the attempts are spent) are returned
 * for the caller to read; connections that fail are errors with a sentence naming the host.
 */
export async function request(url: string, req: Req, opts: HttpOptions, what: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await once(url, req, opts);
    } catch (err) {
      if (err instanceof BoxError) throw err;
      const host = new URL(url).host;
      if (attempt < opts.attempts && retriable(err)) {
        logger.debug(`${what}: ${describeNetError(err, host)}; trying again`);
        await sleep(backoff(opts, attempt));
        continue;
      }
      throw new BoxError(`${describeNetError(err, host)} (for ${what})`);
    }
    if ((res.status >= 500 || res.status === 429) && attempt < opts.attempts) {
      const after = retryAfter(res.headers.get("retry-after"));
      if (after !== undefined && after > MAX_RETRY_AFTER_S) {
        throw new BoxError(`${new URL(url).host} asks to wait ${Math.round(after)} s before asking again (HTTP ${res.status}, for ${what}): try later`);
      }
      await res.body?.cancel().catch(() => {});
      const wait = after !== undefined ? after * 1000 : backoff(opts, attempt);
      logger.debug(`${what}: HTTP ${res.status}; trying again in ${Math.round(wait)} ms`);
      await sleep(wait);
      continue;
    }
    return res;
  }
}

/** One attempt: the answer's headers within the time limit, redirects followed by hand. */
async function once(url: string, req: Req, opts: HttpOptions): Promise<Response> {
  let current = url;
  const headers = { ...(req.headers ?? {}) };
  for (let hop = 0; hop < 6; hop++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(current, { method: req.method ?? "GET", headers, redirect: "manual", signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw new BoxError(`${new URL(current).host} did not answer within ${opts.timeoutMs / 1000} s`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.get("location")) {
      const next = new URL(res.headers.get("location")!, current);
      await res.body?.cancel().catch(() => {});
      if (next.protocol !== "https:" && next.protocol !== "http:") throw new BoxError(`${new URL(current).host} redirected to ${next.protocol} URL`);
      // A redirect to a blob store elsewhere (a CDN) gets no credentials of the registry's.
      if (next.host !== new URL(current).host) delete headers.authorization;
      current = next.toString();
      continue;
    }
    return res;
  }
  throw new BoxError(`${new URL(url).host} redirected more than 5 times`);
}

/**
 * A body's chunks, failing when nothing arrives for timeoutMs. The error says it stalled, so the
 * caller can resume (a blob) or give up.
 */
export async function* bodyChunks(res: Response, timeoutMs: number, what: string): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StallError(`${what} stalled: nothing arrived for ${timeoutMs / 1000} s`)), timeoutMs);
      });
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await Promise.race([reader.read(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export class StallError extends Error {
  override readonly name = "StallError";
}

/** A small body (a manifest, a token), refused past cap bytes. */
export async function readSmall(res: Response, cap: number, timeoutMs: number, what: string): Promise<Buffer> {
  const len = Number(res.headers.get("content-length"));
  if (len > cap) throw new BoxError(`${what} is ${len} bytes, more than the ${cap} box accepts`);
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const c of bodyChunks(res, timeoutMs, what)) {
      n += c.length;
      if (n > cap) throw new BoxError(`${what} is more than the ${cap} bytes box accepts`);
      parts.push(c);
    }
  } catch (err) {
    if (err instanceof BoxError) throw err;
    throw new BoxError(err instanceof StallError ? err.message : `${what} broke off: ${describeNetError(err, new URL(res.url || "http://registry").host)}`);
  }
  return Buffer.concat(parts);
}
