/**
 * Image configs (OCI image-spec config.json, which docker's is a superset of): parsed from bytes
 * nobody vouches for, so every field box uses is checked for its type and anything else is left
 * out. Also the configs box makes itself (the embedded Alpine, box import) and `--change`.
 */
import { BoxError } from "../errors";
import { jsonObject, obj } from "./json";
import { isDigest } from "./digest";

/** What a container started from the image gets by default (docker's names). */
export interface RunConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: RunConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: History[];
}

function strings(v: unknown, field: string, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new BoxError(`${what} is damaged: ${field} is not a list of strings`);
  return v as string[];
}

function str(v: unknown, field: string, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BoxError(`${what} is damaged: ${field} is not a string`);
  return v;
}

function set(v: unknown, field: string, what: string): Record<string, Record<string, never>> | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v);
  if (!o) throw new BoxError(`${what} is damaged: ${field} is not an object`);
  return Object.fromEntries(Object.keys(o).map((k) => [k, {}]));
}

function labels(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v);
  if (!o || !Object.values(o).every((s) => typeof s === "string")) throw new BoxError(`${what} is damaged: Labels is not a map of strings`);
  return o as Record<string, string>;
}

function runConfig(v: unknown, what: string): RunConfig {
  if (v === undefined || v === null) return {};
  const c = obj(v);
  if (!c) throw new BoxError(`${what} is damaged: config is not an object`);
  const out: RunConfig = {};
  const put = <K extends keyof RunConfig>(k: K, val: RunConfig[K] | undefined) => {
    if (val !== undefined) out[k] = val;
  };
  put("User", str(c.User, "User", what));
  put("ExposedPorts", set(c.ExposedPorts, "ExposedPorts", what));
  put("Env", strings(c.Env, "Env", what));
  put("Entrypoint", strings(c.Entrypoint, "Entrypoint", what));
  put("Cmd", strings(c.Cmd, "Cmd", what));
  put("Volumes", set(c.Volumes, "Volumes", what));
  put("WorkingDir", str(c.WorkingDir, "WorkingDir", what));
  put("Labels", labels(c.Labels, what));
  put("StopSignal", str(c.StopSignal, "StopSignal", what));
  return out;
}

/** Parses and checks a config; `what` names it in the sentence when it is refused. */
export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  const d = jsonObject(bytes, what);
  const rootfs = obj(d.rootfs);
  if (!rootfs || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw new BoxError(`${what} is damaged: rootfs is not a list of sha256 layer digests`);
  }
  const history: History[] = [];
  if (Array.isArray(d.history)) {
    for (const h of d.history) {
      const o = obj(h);
      if (!o) continue;
      const e: History = {};
      if (typeof o.created === "string") e.created = o.created;
      if (typeof o.created_by === "string") e.created_by = o.created_by;
      if (typeof o.author === "string") e.author = o.author;
      if (typeof o.comment === "string") e.comment = o.comment;
      if (o.empty_layer === true) e.empty_layer = true;
      history.push(e);
    }
  }
  return {
    ...(typeof d.created === "string" ? { created: d.created } : {}),
    ...(typeof d.author === "string" ? { author: d.author } : {}),
    architecture: typeof d.architecture === "string" ? d.architecture : "",
    os: typeof d.os === "string" ? d.os : "",
    ...(typeof d.variant === "string" ? { variant: d.variant } : {}),
    config: runConfig(d.config, what),
    rootfs: { type: "layers", diff_ids: rootfs.diff_ids as string[] },
    ...(history.length ? { history } : {}),
  };
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A config box writes itself (key order fixed, so the same input always gives the same ID). */
export function makeConfig(diffIDs: string[], created: string, config: RunConfig, createdBy: string): ImageConfig {
  return {
    created,
    architecture: "amd64",
    os: "linux",
    config,
    rootfs: { type: "layers", diff_ids: diffIDs },
    history: [{ created, created_by: createdBy }],
  };
}

export function encodeConfig(c: ImageConfig): Buffer {
  return Buffer.from(JSON.stringify(c));
}

/** Seconds since the epoch as RFC 3339, the way image configs write times. */
export function rfc3339(sec: number): string {
  return new Date(Math.max(0, sec) * 1000).toISOString().replace(".000Z", "Z");
}

// ---- --change, as docker import -c ----

const CHANGE = /^\s*(CMD|ENTRYPOINT|ENV|WORKDIR|USER|EXPOSE|LABEL|STOPSIGNAL|VOLUME)\s+([\s\S]*)$/i;

/** `["a","b"]` (JSON form) or a shell form, which runs through /bin/sh -c as docker does. */
function commandForm(rest: string, what: string): string[] {
  const t = rest.trim();
  if (t.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new BoxError(`invalid --change "${what}": the JSON form must be a list of strings`);
    }
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new BoxError(`invalid --change "${what}": the JSON form must be a list of strings`);
    return v;
  }
  return ["/bin/sh", "-c", t];
}

/** KEY=VALUE pairs (quotes allowed), or the old "KEY VALUE" form. */
function pairs(rest: string, what: string): Array<[string, string]> {
  const t = rest.trim();
  if (!t.includes("=")) {
    const sp = t.search(/\s/);
    if (sp < 0) throw new BoxError(`invalid --change "${what}": give KEY=VALUE`);
    return [[t.slice(0, sp), t.slice(sp).trim()]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  let m: RegExpExecArray | null;
  let consumed = "";
  while ((m = re.exec(t))) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
    consumed += m[0];
  }
  if (consumed.replace(/\s/g, "").length !== t.replace(/\s/g, "").length) throw new BoxError(`invalid --change "${what}": give KEY=VALUE pairs`);
  return out;
}

/** Applies `--change` instructions (docker import -c) to a run config. */
export function applyChanges(config: RunConfig, changes: readonly string[]): RunConfig {
  const c: RunConfig = structuredClone(config);
  for (const change of changes) {
    const m = CHANGE.exec(change);
    if (!m) {
      throw new BoxError(`invalid --change "${change}": use CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL or VOLUME followed by its value`);
    }
    const kw = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (rest === "") throw new BoxError(`invalid --change "${change}": ${kw} needs a value`);
    switch (kw) {
      case "CMD": c.Cmd = commandForm(rest, change); break;
      case "ENTRYPOINT": c.Entrypoint = commandForm(rest, change); break;
      case "WORKDIR":
        if (!rest.startsWith("/")) throw new BoxError(`invalid --change "${change}": WORKDIR must be an absolute path`);
        c.WorkingDir = rest;
        break;
      case "USER": c.User = rest; break;
      case "STOPSIGNAL": c.StopSignal = rest; break;
      case "ENV": {
        const env = c.Env ?? [];
        for (const [k, v] of pairs(rest, change)) {
          const i = env.findIndex((e) => e.split("=")[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case "LABEL":
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(rest, change)) };
        break;
      case "EXPOSE": {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/)) {
          if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p) || Number(p.split("/")[0]) > 65535) throw new BoxError(`invalid --change "${change}": "${p}" is not a port (80, 53/udp)`);
          ports[p.includes("/") ? p : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const vols = { ...(c.Volumes ?? {}) };
        for (const v of rest.startsWith("[") ? commandForm(rest, change) : rest.split(/\s+/)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
    }
  }
  return c;
}
