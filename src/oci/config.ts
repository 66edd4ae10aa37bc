/**
 * config.json, the OCI runtime spec's (1.0 to 1.1), read strictly: what box does with each field
 * is in plan.ts, mounts.ts, devices.ts, resources.ts and seccomp (src/spec/seccomp/oci.ts). A field
 * of the spec box does not do is refused by name with the reason; an unknown field inside a
 * section box acts on is refused too. An unknown field at the top level is passed over with a
 * warning, as the spec's extensibility rule asks (a new platform's section, a tool's own data).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { absPath, bool, int, int64, invalid, list, map, need, oneOf, opt, str, strict, strings, uint32, type Check } from "./check";
import { parseResources, type Resources } from "./resources-config";
import type { OciSeccomp } from "../spec/seccomp/oci";
import { parseSeccomp } from "./seccomp-config";

export interface OciUser { uid: number; gid: number; umask?: number; additionalGids?: number[] }
export interface OciCapabilities { bounding?: string[]; effective?: string[]; inheritable?: string[]; permitted?: string[]; ambient?: string[] }
export interface OciRlimit { type: string; soft: bigint; hard: bigint }
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}
export interface OciMount { destination: string; type?: string; source?: string; options?: string[] }
export interface OciHook { path: string; args?: string[]; env?: string[]; timeout?: number }
export const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
export type HookKind = (typeof HOOK_KINDS)[number];
export type OciHooks = Partial<Record<HookKind, OciHook[]>>;
export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "cgroup"] as const;
export interface OciNamespace { type: (typeof NAMESPACE_TYPES)[number]; path?: string }
export interface OciDevice { path: string; type: "c" | "b" | "u" | "p"; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }
export interface OciLinux {
  namespaces?: OciNamespace[];
  devices?: OciDevice[];
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: "private" | "rprivate" | "slave" | "rslave" | "shared" | "rshared" | "unbindable" | "runbindable";
  seccomp?: OciSeccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}
export interface OciConfig {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: OciMount[];
  hooks?: OciHooks;
  annotations?: Record<string, string>;
  linux?: OciLinux;
}

const NO_USERNS = "box-runc does not run containers in a user namespace yet (box run does)";

const capabilities = strict<OciCapabilities>({ bounding: strings(64), effective: strings(64), inheritable: strings(64), permitted: strings(64), ambient: strings(64) });

const u64: Check<bigint> = (v, at) => {
  if (typeof v === "bigint" && v >= 0n && v < 1n << 64n) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return invalid(at, "is not a whole number from 0 to 2^64-1");
};

const rlimit = (v: unknown, at: string): OciRlimit => need(strict<OciRlimit>({ type: str, soft: u64, hard: u64 })(v, at), ["type", "soft", "hard"], at);

export const parseProcess: Check<OciProcess> = (v, at) => {
  const p = strict<OciProcess>(
    {
      terminal: bool,
      consoleSize: (x, a) => need(strict<{ height: number; width: number }>({ height: int(0, 65535), width: int(0, 65535) })(x, a), ["height", "width"], a),
      user: (x, a) => need(strict<OciUser>({ uid: uint32, gid: uint32, umask: int(0, 0o777), additionalGids: list(uint32, 64) }, { username: "it is Windows' field" })(x, a), ["uid", "gid"], a),
      args: strings(4096),
      env: strings(4096),
      cwd: absPath,
      capabilities,
      rlimits: list(rlimit, 64),
      noNewPrivileges: bool,
      oomScoreAdj: int(-1000, 1000),
    },
    {
      apparmorProfile: "box does not apply AppArmor profiles (this host has no AppArmor)",
      selinuxLabel: "box does not apply SELinux labels",
      scheduler: "box does not set a scheduling policy",
      ioPriority: "box does not set an I/O priority",
      execCPUAffinity: "box does not pin processes to CPUs",
      commandLine: "it is Windows' field",
    },
  )(v, at);
  need(p, ["user", "cwd"], at);
  if (!p.args || p.args.length === 0) invalid(`${at}.args`, "is empty: there is no command to run");
  return p;
};

const hook: Check<OciHook> = (v, at) => need(strict<OciHook>({ path: absPath, args: strings(4096), env: strings(4096), timeout: int(1, 86400) })(v, at), ["path"], at);
const hooks = strict<OciHooks>(Object.fromEntries(HOOK_KINDS.map((k) => [k, list(hook, 32)])) as Record<HookKind, Check<OciHook[]>>);

const mount: Check<OciMount> = (v, at) =>
  need(strict<OciMount>({ destination: absPath, type: str, source: str, options: strings(256) }, { uidMappings: NO_USERNS, gidMappings: NO_USERNS })(v, at), ["destination"], at);

const namespace: Check<OciNamespace> = (v, at) => {
  const ns = strict<OciNamespace>({ type: (x, a) => {
    if (x === "user") return invalid(a, `is "user": ${NO_USERNS}`);
    if (x === "time") return invalid(a, `is "time": box does not make time namespaces`);
    return oneOf(...NAMESPACE_TYPES)(x, a);
  }, path: absPath })(v, at);
  return need(ns, ["type"], at);
};

const device: Check<OciDevice> = (v, at) =>
  // fileMode: podman gives the type's bits too (0o20644); only the permission bits are used.
  need(strict<OciDevice>({ path: absPath, type: oneOf("c", "b", "u", "p"), major: int64, minor: int64, fileMode: uint32, uid: uint32, gid: uint32 })(v, at), ["path", "type"], at);

const linux = strict<OciLinux>(
  {
    namespaces: list(namespace, 16),
    devices: list(device, 1024),
    cgroupsPath: str,
    resources: parseResources,
    rootfsPropagation: oneOf("private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"),
    seccomp: parseSeccomp,
    sysctl: map(str),
    maskedPaths: list(absPath, 1024),
    readonlyPaths: list(absPath, 1024),
  },
  {
    uidMappings: NO_USERNS,
    gidMappings: NO_USERNS,
    timeOffsets: "box does not make time namespaces",
    mountLabel: "box does not apply SELinux labels",
    intelRdt: "box does not use Intel RDT",
    personality: "box does not set an execution domain",
    memoryPolicy: "box does not set a NUMA memory policy",
  },
);

const TOP_LEVEL = ["ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux", "solaris", "windows", "vm", "zos"];

const config = strict<OciConfig>(
  {
    ociVersion: (v, at) => {
      const s = str(v, at);
      if (!/^1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/.test(s)) invalid(at, `is "${s.slice(0, 40)}": box reads versions 1.x of the runtime spec`);
      return s;
    },
    process: parseProcess,
    root: (v, at) => need(strict<{ path: string; readonly?: boolean }>({ path: str, readonly: bool })(v, at), ["path"], at),
    hostname: str,
    domainname: str,
    mounts: list(mount, 1024),
    hooks,
    annotations: map(str),
    linux,
  },
  { solaris: "box runs Linux containers", windows: "box runs Linux containers", vm: "box does not run containers in virtual machines", zos: "box runs Linux containers" },
);

/** JSON with 64-bit integers kept whole (BigInt) where a double would round them. */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_k, v, ctx?: { source?: string }) =>
    typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v,
  );
}

export interface Loaded {
  config: OciConfig;
  /** Fields at the top level box does not know and passed over. */
  ignored: string[];
}

export function parseConfig(text: string): Loaded {
  let value: unknown;
  try {
    value = parseJsonExact(text);
  } catch {
    throw new BoxError("config.json is not valid JSON", 1);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BoxError("config.json does not hold a JSON object", 1);
  const known = Object.fromEntries(Object.entries(value).filter(([k]) => TOP_LEVEL.includes(k)));
  const ignored = Object.keys(value).filter((k) => !TOP_LEVEL.includes(k));
  const parsed = need(config(known, ""), ["ociVersion"], "");
  return { config: parsed, ignored };
}

/** The bundle's config.json, read and checked; the message names the file when it cannot be read. */
export function loadConfig(bundle: string): Loaded {
  const file = join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BoxError(code === "ENOENT" ? `${file} does not exist` : `cannot read ${file}: ${code ?? String(err)}`, 1);
  }
  return parseConfig(text);
}

/** For tests: a check by name, for a section alone. */
export const sections = { process: parseProcess, hooks, mount, namespace, device, linux };
export { opt };
