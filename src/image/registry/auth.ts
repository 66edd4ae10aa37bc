/**
 * Credentials and challenges. box keeps what `box login` was given in <lib>/auth.json (mode 0600,
 * docker's shape: {"auths": {"REGISTRY": {"auth": base64("user:password")}}}), and reads an
 * existing ~/.docker/config.json (or $DOCKER_CONFIG/config.json) too, without ever writing it.
 * Credential helpers (credsStore, credHelpers) are not run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../store/write";
import { logger } from "../../logger";

export interface Credentials {
  username: string;
  password: string;
}

/** A registry as auth files name it: "https://index.docker.io/v1/" and "docker.io" are one. */
export function registryKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, "");
  k = k.replace(/\/.*$/, "").toLowerCase();
  if (k === "index.docker.io" || k === "registry-1.docker.io" || k === "registry.hub.docker.com") return "docker.io";
  return k;
}

export function authFile(lib: string): string {
  return join(lib, "auth.json");
}

function dockerConfigFile(env: Record<string, string | undefined>): string | undefined {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, "config.json");
  if (env.HOME) return join(env.HOME, ".docker", "config.json");
  return undefined;
}

interface AuthDoc {
  auths: Record<string, { auth?: string; username?: string; password?: string }>;
}

function readAuthDoc(path: string, warn: boolean): AuthDoc | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc !== "object" || doc === null) throw new Error("not an object");
    const auths = (doc as { auths?: unknown }).auths;
    if (auths === undefined) return { auths: {} };
    if (typeof auths !== "object" || auths === null || Array.isArray(auths)) throw new Error("auths is not an object");
    return { auths: auths as AuthDoc["auths"] };
  } catch {
    if (warn) logger.warn(`${path} is not valid JSON: its credentials are ignored`);
    return undefined;
  }
}

function decode(entry: { auth?: unknown; username?: unknown; password?: unknown }): Credentials | undefined {
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const plain = Buffer.from(entry.auth, "base64").toString("utf8");
    const i = plain.indexOf(":");
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
    return undefined;
  }
  if (typeof entry.username === "string" && typeof entry.password === "string") return { username: entry.username, password: entry.password };
  return undefined;
}

function find(doc: AuthDoc | undefined, registry: string): Credentials | undefined {
  if (!doc) return undefined;
  for (const [key, entry] of Object.entries(doc.auths)) {
    if (registryKey(key) === registryKey(registry) && entry && typeof entry === "object") {
      const c = decode(entry);
      if (c) return c;
    }
  }
  return undefined;
}

/** The credentials for a registry: box login's first, then docker's config. */
export function loadCredentials(lib: string, registry: string, env: Record<string, string | undefined> = process.env): Credentials | undefined {
  const own = find(readAuthDoc(authFile(lib), true), registry);
  if (own) return own;
  const docker = dockerConfigFile(env);
  return docker ? find(readAuthDoc(docker, false), registry) : undefined;
}

export function saveCredentials(lib: string, registry: string, c: Credentials): void {
  const doc = readAuthDoc(authFile(lib), false) ?? { auths: {} };
  for (const key of Object.keys(doc.auths)) if (registryKey(key) === registryKey(registry)) delete doc.auths[key];
  doc.auths[registryKey(registry)] = { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") };
  writeFileAtomic(authFile(lib), JSON.stringify(doc, null, 2) + "\n", 0o600);
}

/** Forgets a registry's credentials; returns whether box had any. */
export function removeCredentials(lib: string, registry: string): boolean {
  const doc = readAuthDoc(authFile(lib), false);
  if (!doc) return false;
  let found = false;
  for (const key of Object.keys(doc.auths)) {
    if (registryKey(key) === registryKey(registry)) {
      delete doc.auths[key];
      found = true;
    }
  }
  if (found) writeFileAtomic(authFile(lib), JSON.stringify(doc, null, 2) + "\n", 0o600);
  return found;
}

export interface Challenge {
  scheme: "bearer" | "basic";
  params: Record<string, string>;
}

/** Parses WWW-Authenticate: `Bearer realm="...",service="...",scope="repository:a/b:pull"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "bearer" && scheme !== "basic") return undefined;
  const params: Record<string, string> = {};
  const re = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/gy;
  const rest = m[2]!;
  re.lastIndex = 0;
  for (let p = re.exec(rest); p; p = re.exec(rest)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme, params };
}
