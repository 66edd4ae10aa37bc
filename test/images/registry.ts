// A real registry for the tests, on 127.0.0.1: Debian's docker-registry (distribution 2.8) with
// token authentication, a token server of the tests' own that signs JWTs the registry checks (so
// the bearer flow is the real one), and a proxy in front that misbehaves on request.
import { createPrivateKey, createPublicKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { run, tempDir } from "../e2e/harness";

export const USER = "tester";
export const PASSWORD = "s3cret";

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export type Fault =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "truncate" }
  | { kind: "corrupt" }
  | { kind: "stall" }
  | { kind: "reset" }
  | { kind: "schema1" }
  | { kind: "ignoreRange" };

export interface FaultRule {
  /** Matched against the request path. */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (then they pass). */
  times: number;
}

export interface TestRegistry {
  /** host:port of the proxy in front of the registry (what box pulls from). */
  host: string;
  /** host:port of the registry itself (what skopeo pushes to). */
  direct: string;
  /** Requests seen by the proxy: "METHOD path [range]". */
  log: string[];
  /** Token requests seen: "user scope". */
  tokens: string[];
  faults: FaultRule[];
  /** "ok", or "forge": sign tokens with a key the registry does not trust (a 401 loop). */
  tokenMode: "ok" | "forge";
  push(src: string, repo: string, opts?: { all?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = tempDir("box-registry-");
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const made = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=box-test-token"]);
  if (made.code !== 0) throw new Error(`openssl: ${made.stderr}`);
  const other = await run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", join(dir, "forged.pem")]);
  if (other.code !== 0) throw new Error(`openssl: ${other.stderr}`);
  const privateKey = createPrivateKey(readFileSync(key));
  const forgedKey = createPrivateKey(readFileSync(join(dir, "forged.pem")));
  const der = new X509Certificate(readFileSync(cert)).raw;
  void createPublicKey;

  const state = { tokenMode: "ok" as "ok" | "forge" };
  const tokens: string[] = [];

  // The token server: anonymous pulls of anything but private/*; tester may pull and push all.
  const tokenServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      let user = "";
      const auth = req.headers.get("authorization");
      if (auth?.startsWith("Basic ")) {
        const [u, ...rest] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (u !== USER || rest.join(":") !== PASSWORD) return new Response(JSON.stringify({ details: "wrong credentials" }), { status: 401 });
        user = u;
      }
      const access = url.searchParams.getAll("scope").flatMap((scope) => {
        const [type, name, actions] = scope.split(":");
        if (type !== "repository" || !name || !actions) return [];
        const wanted = actions.split(",");
        const granted = user ? wanted : name.startsWith("private/") ? [] : wanted.filter((a) => a === "pull");
        return [{ type, name, actions: granted }];
      });
      tokens.push(`${user || "-"} ${url.searchParams.getAll("scope").join(" ")}`);
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "RS256", x5c: [der.toString("base64")] };
      const claims = { iss: "box-test-issuer", sub: user, aud: url.searchParams.get("service"), exp: now + 600, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = sign("RSA-SHA256", Buffer.from(input), state.tokenMode === "forge" ? forgedKey : privateKey);
      const token = `${input}.${b64url(sig)}`;
      return Response.json({ token, access_token: token, expires_in: 600, issued_at: new Date().toISOString() });
    },
  });

  const port = await freePort();
  const storage = join(dir, "storage");
  mkdirSync(storage);
  writeFileSync(join(dir, "config.yml"), [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "auth:",
    "  token:",
    `    realm: http://127.0.0.1:${tokenServer.port}/token`,
    "    service: box-test",
    "    issuer: box-test-issuer",
    `    rootcertbundle: ${cert}`,
    "",
  ].join("\n"));
  const proc = Bun.spawn(["docker-registry", "serve", join(dir, "config.yml")], { stdout: "ignore", stderr: "pipe" });
  const direct = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://${direct}/v2/`);
      if (r.status === 401 || r.ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 200) throw new Error(`docker-registry did not start: ${await new Response(proc.stderr).text()}`);
    await Bun.sleep(25);
  }

  const log: string[] = [];
  const faults: FaultRule[] = [];
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const range = req.headers.get("range");
      log.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ""}`);
      const rule = faults.find((f) => f.times > 0 && f.path.test(url.pathname));
      const fault = rule?.fault;
      if (fault?.kind === "status") {
        rule!.times--;
        return new Response(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "the test says no" }] }), { status: fault.status, headers: fault.retryAfter ? { "retry-after": fault.retryAfter } : {} });
      }
      const headers = new Headers();
      for (const h of ["authorization", "accept"]) if (req.headers.get(h)) headers.set(h, req.headers.get(h)!);
      if (range && fault?.kind !== "ignoreRange") headers.set("range", range);
      const upstream = await fetch(`http://${direct}${url.pathname}${url.search}`, { method: req.method, headers, redirect: "manual" });
      // A fault spoils an answer the registry gave; a 401 (no token yet) passes and does not count.
      if (rule && upstream.ok) rule.times--;
      const out = new Headers(upstream.headers);
      out.delete("content-length");
      out.delete("transfer-encoding");
      if (fault?.kind === "schema1" && upstream.ok) {
        const body = JSON.stringify({ schemaVersion: 1, name: "x", tag: "1", architecture: "amd64", fsLayers: [], history: [], signatures: [] });
        out.set("content-type", "application/vnd.docker.distribution.manifest.v1+prettyjws");
        out.delete("docker-content-digest");
        return new Response(body, { status: 200, headers: out });
      }
      if (!fault || fault.kind === "ignoreRange" || !upstream.ok || req.method === "HEAD") {
        return new Response(upstream.body, { status: upstream.status, headers: out });
      }
      const body = Buffer.from(await upstream.arrayBuffer());
      if (fault.kind === "corrupt") {
        const mid = Math.floor(body.length / 2);
        body[mid] = body[mid]! ^ 0xff;
        return new Response(body, { status: upstream.status, headers: out });
      }
      const half = body.subarray(0, Math.floor(body.length / 2));
      if (fault.kind === "truncate") {
        out.set("content-length", String(half.length));
        return new Response(half, { status: upstream.status, headers: out });
      }
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(half);
            if (fault.kind === "reset") setTimeout(() => c.error(new Error("reset by the test")), 50);
            // "stall": nothing more, ever (until the client gives up).
          },
        }),
        { status: upstream.status, headers: out },
      );
    },
  });

  const reg: TestRegistry = {
    host: `127.0.0.1:${proxy.port}`,
    direct,
    log,
    tokens,
    faults,
    get tokenMode() {
      return state.tokenMode;
    },
    set tokenMode(m) {
      state.tokenMode = m;
    },
    async push(src, repo, opts = {}) {
      const r = await run(["skopeo", "copy", "-q", ...(opts.all ? ["--all"] : []), "--dest-tls-verify=false", "--dest-creds", `${USER}:${PASSWORD}`, src, `docker://${direct}/${repo}`], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`skopeo copy ${src} ${repo}: ${r.stderr}`);
    },
    async stop() {
      proxy.stop(true);
      tokenServer.stop(true);
      proc.kill();
      await proc.exited;
      (await import("node:fs")).rmSync(dir, { recursive: true, force: true });
    },
  };
  return reg;
}
