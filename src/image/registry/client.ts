/**
 * A client of the OCI distribution API (Docker Registry HTTP API v2): manifests and blobs, with
 * the token flow registries use. A request goes out without credentials (or with a token already
 * got for its scope); a 401 names how to authenticate:
 *   Bearer realm,service,scope  ->  GET realm?service=..&scope=.. (with basic credentials when
 *                                   box has some for the registry), then the request again with
 *                                   the token; a second 401 is an error, never a loop.
 *   Basic                       ->  the request again with basic credentials.
 * https by default; plain http for loopback registries and those named insecure.
 */
import { BoxError } from "../../errors";
import { ACCEPT } from "../oci";
import { parseChallenge, type Credentials } from "./auth";
import { readSmall, request, type HttpOptions, type Req } from "./http";

/** docker.io's API lives at registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

function hostname(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(1, hostPort.indexOf("]"));
  return hostPort.replace(/:\d+$/, "");
}

export function isLoopback(hostPort: string): boolean {
  const h = hostname(hostPort).toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Registries named by --insecure-registry or BOX_INSECURE_REGISTRIES (comma or space separated). */
export function insecureList(flags: readonly string[], env: Record<string, string | undefined> = process.env): string[] {
  return [...flags, ...(env.BOX_INSECURE_REGISTRIES ?? "").split(/[\s,]+/)].map((s) => s.trim().replace(/^https?:\/\//, "").replace(/\/.*$/, "")).filter(Boolean);
}

export interface RegistryError {
  code?: string;
  message?: string;
}

/** The first error of a registry's JSON error body, if it has one. */
async function errorOf(res: Response): Promise<RegistryError> {
  try {
    const text = await res.text();
    const doc = JSON.parse(text.slice(0, 65536)) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const e = doc.errors?.[0];
    return { ...(typeof e?.code === "string" ? { code: e.code } : {}), ...(typeof e?.message === "string" ? { message: e.message } : {}) };
  } catch {
    return {};
  }
}

export class Registry {
  readonly host: string;
  readonly base: string;
  private readonly tokens = new Map<string, string>();
  private basic = false;

  constructor(
    /** As references name it: "docker.io", "127.0.0.1:5000". */
    readonly registry: string,
    private readonly http: HttpOptions,
    private readonly creds: Credentials | undefined,
    insecure: readonly string[],
  ) {
    this.host = apiHost(registry);
    const plain = isLoopback(this.host) || insecure.includes(registry) || insecure.includes(this.host) || insecure.includes(hostname(this.host));
    this.base = `${plain ? "http" : "https"}://${this.host}`;
  }

  private authHeader(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token) return `Bearer ${token}`;
    if (this.basic && this.creds) return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
    return undefined;
  }

  /** Whether credentials may travel to url (never in clear text to another machine). */
  private safeFor(url: string): boolean {
    const u = new URL(url);
    return u.protocol === "https:" || isLoopback(u.host) || this.base.startsWith("http:");
  }

  /** Gets a token for scope as the challenge says. */
  private async authenticate(challenge: string | null, scope: string, what: string): Promise<void> {
    const c = parseChallenge(challenge);
    if (!c) throw new BoxError(`${this.registry} refused ${what} (HTTP 401) without saying how to authenticate`);
    if (c.scheme === "basic") {
      if (!this.creds) throw new BoxError(`${this.registry} needs a login for ${what}: box login ${this.registry}`);
      this.basic = true;
      return;
    }
    const realm = c.params.realm;
    if (!realm || !/^https?:\/\//.test(realm)) throw new BoxError(`${this.registry} named no token service (realm) for ${what}`);
    const url = new URL(realm);
    if (c.params.service) url.searchParams.set("service", c.params.service);
    const wanted = c.params.scope ?? scope;
    if (wanted) for (const s of wanted.split(" ")) url.searchParams.append("scope", s);
    const headers: Record<string, string> = { accept: "application/json" };
    const sendCreds = this.creds && this.safeFor(url.toString());
    if (sendCreds) headers.authorization = `Basic ${Buffer.from(`${this.creds!.username}:${this.creds!.password}`).toString("base64")}`;
    const res = await request(url.toString(), { headers }, this.http, `a token from ${url.host}`);
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw new BoxError(
        sendCreds
          ? `the token service of ${this.registry} (${url.host}) refused the credentials of ${this.creds!.username}: box login ${this.registry} again`
          : `the token service of ${this.registry} (${url.host}) refused anonymous access for ${what}: box login ${this.registry}`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new BoxError(`the token service of ${this.registry} (${url.host}) answered HTTP ${res.status}`);
    }
    let token: unknown;
    try {
      const doc = JSON.parse((await readSmall(res, 1 << 20, this.http.timeoutMs, "a token")).toString("utf8")) as { token?: unknown; access_token?: unknown };
      token = doc.token ?? doc.access_token;
    } catch (err) {
      if (err instanceof BoxError) throw err;
    }
    if (typeof token !== "string" || token === "") throw new BoxError(`the token service of ${this.registry} (${url.host}) gave no token`);
    this.tokens.set(scope, token);
  }

  /**
   * A request to the registry's API, authenticated as its 401 asks. Returns the answer
   * (2xx, or 4xx other than 401 for the caller to explain).
   */
  async fetch(path: string, scope: string, req: Req, what: string): Promise<Response> {
    const url = `${this.base}${path}`;
    for (let round = 0; ; round++) {
      const auth = this.authHeader(scope);
      const res = await request(url, { ...req, headers: { ...(req.headers ?? {}), ...(auth ? { authorization: auth } : {}) } }, this.http, what);
      if (res.status !== 401) return res;
      const challenge = res.headers.get("www-authenticate");
      if (round > 0) {
        const e = await errorOf(res);
        throw new BoxError(
          this.creds
            ? `${this.registry} refused ${what} even with the credentials of ${this.creds.username}${e.message ? ` (${e.message})` : ""}: check the name, or box login ${this.registry} again`
            : `${this.registry} refused ${what}${e.message ? ` (${e.message})` : ""}: the repository does not exist, or it needs a login (box login ${this.registry})`,
        );
      }
      await res.body?.cancel().catch(() => {});
      await this.authenticate(challenge, scope, what);
    }
  }

  /** GET /v2/ with the login flow: whether the credentials work (box login). */
  async ping(): Promise<void> {
    const res = await this.fetch("/v2/", "", {}, "a login");
    await res.body?.cancel().catch(() => {});
    if (!res.ok) throw new BoxError(`${this.registry} answered HTTP ${res.status} to a login`);
  }

  async manifest(repo: string, ref: string, what: string): Promise<{ bytes: Buffer; contentType?: string; digest?: string }> {
    const res = await this.fetch(`/v2/${repo}/manifests/${ref}`, `repository:${repo}:pull`, { headers: { accept: ACCEPT } }, what);
    if (res.status === 404) {
      const e = await errorOf(res);
      throw new BoxError(`${what} does not exist on ${this.registry}${e.code && e.code !== "MANIFEST_UNKNOWN" ? ` (${e.code})` : ""}`);
    }
    if (!res.ok) {
      const e = await errorOf(res);
      throw new BoxError(`${this.registry} answered HTTP ${res.status} for ${what}${e.message ? `: ${e.message}` : ""}`);
    }
    const bytes = await readSmall(res, 4 << 20, this.http.timeoutMs, what);
    return { bytes, contentType: res.headers.get("content-type") ?? undefined, digest: res.headers.get("docker-content-digest") ?? undefined };
  }

  /** A blob, from offset on (a Range request when offset > 0). */
  async blob(repo: string, digest: string, offset: number, what: string): Promise<Response> {
    const res = await this.fetch(`/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {} }, what);
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new BoxError(`${this.registry} does not have ${what}`);
    }
    if (res.status !== 200 && res.status !== 206) {
      const e = await errorOf(res);
      throw new BoxError(`${this.registry} answered HTTP ${res.status} for ${what}${e.message ? `: ${e.message}` : ""}`);
    }
    return res;
  }
}
