/**
 * docker's -v/--volume, --mount and --tmpfs, parsed as docker parses them (moby's linux parser
 * and the CLI's --mount CSV) into MountRequests, checked before anything is made. What box does
 * differently, and why:
 *   - every bind, volume and tmpfs is nodev (box has no device cgroup: a device node made in a
 *     writable mount must not open a host disk), and a tmpfs cannot be given `dev`;
 *   - propagation is private (rprivate, docker's default); shared and slave would need the
 *     helper to keep the container's root a slave of the host's, which it does not do;
 *   - a read-only bind is not recursive unless bind-recursive=writable says so: the helper can
 *     make only the top mount read-only (no mount_setattr), and a writable mount must not hide
 *     below a read-only one;
 *   - nothing is mounted on or under /proc, nor on /, /dev, /dev/pts or /sys.
 */
import { BoxError } from "../errors";

export type MountRequest = BindRequest | VolumeRequest | TmpfsRequest;

export interface BindRequest {
  type: "bind";
  /** An absolute host path. */
  source: string;
  target: string;
  readonly: boolean;
  /** Submounts of the source come along (rbind). */
  recursive: boolean;
  /** -v: a missing source is made as a directory; --mount: refused. */
  create: boolean;
  /** As given (docker shows it): "" or the -v mode. */
  mode: string;
}

export interface VolumeRequest {
  type: "volume";
  /** The volume's name; absent for an anonymous volume (named after its container and target). */
  name?: string;
  target: string;
  readonly: boolean;
  /** The image's content at the target is not copied into a new, empty volume. */
  noCopy: boolean;
  /** --mount volume-label=K=V: labels of a volume this container creates. */
  labels?: Record<string, string>;
  mode: string;
}

export interface TmpfsRequest {
  type: "tmpfs";
  target: string;
  /** OCI mount options: flags (nosuid, nodev, noexec, ro) and data (size=, mode=, uid=, ...). */
  options: string[];
}

/** "64m", "1g", "512k", "1048576" (bytes), as docker reads sizes (src/cgroup/limits.ts reads them
 * the same way; not imported, as cgroup/ already reaches spec/). */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * 1024 ** "bkmgt".indexOf(m[2]!.toLowerCase() || "b")) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BoxError(`invalid ${flag} "${text}": give a size such as 64m or 1g`);
  return bytes;
}

/** docker's rule for local volume names. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name) || name.length > 255) {
    throw new BoxError(`invalid volume name "${name}": use [a-zA-Z0-9][a-zA-Z0-9_.-] (to bind a host directory, give an absolute path)`);
  }
  return name;
}

/** An absolute container path made clean (docker's filepath.Clean), refused where box mounts itself. */
export function checkTarget(target: string, spec: string): string {
  if (target === "") throw new BoxError(`invalid mount "${spec}": the target is missing`);
  if (!target.startsWith("/")) throw new BoxError(`invalid mount "${spec}": the target "${target}" must be an absolute path`);
  if (target.includes("\0")) throw new BoxError(`invalid mount "${spec}": the target contains a NUL byte`);
  const parts: string[] = [];
  for (const p of target.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  const clean = "/" + parts.join("/");
  if (clean === "/") throw new BoxError(`invalid mount "${spec}": the target cannot be /`);
  if (clean === "/proc" || clean.startsWith("/proc/") || ["/dev", "/dev/pts", "/sys"].includes(clean)) {
    throw new BoxError(`invalid mount "${spec}": box mounts ${clean === "/proc" || clean.startsWith("/proc/") ? "/proc" : clean} itself, nothing goes over it`);
  }
  return clean;
}

const RW = ["rw", "ro"], LABEL = ["z", "Z"], COPY = ["nocopy"], CONSISTENCY = ["consistent", "cached", "delegated"];
const PROPAGATION = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

function checkPropagation(p: string, spec: string): void {
  if (p !== "private" && p !== "rprivate") {
    throw new BoxError(`invalid mount "${spec}": ${p} propagation is not supported (box's mounts are private): use private or rprivate`);
  }
}

/** A -v mode ("ro,z"): each word known, at most one of each kind (docker's ValidMountMode). */
function parseMode(mode: string, spec: string): { readonly: boolean; noCopy: boolean; propagation?: string } {
  const out = { readonly: false, noCopy: false, propagation: undefined as string | undefined };
  if (mode === "") return out;
  const seen = new Set<string[]>();
  for (const word of mode.split(",")) {
    const kind = [RW, LABEL, COPY, CONSISTENCY, PROPAGATION].find((k) => k.includes(word));
    if (!kind || seen.has(kind)) throw new BoxError(`invalid mode "${mode}" in "${spec}"`);
    seen.add(kind);
    if (word === "ro") out.readonly = true;
    if (word === "nocopy") out.noCopy = true;
    if (kind === PROPAGATION) out.propagation = word;
  }
  return out;
}

/** -v SRC:DST[:MODE], -v DST (an anonymous volume). */
export function parseVolumeFlag(spec: string): MountRequest {
  const parts = spec.split(":");
  let source = "", target: string, mode = "";
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    // "DST:MODE" is no volume: a volume with a mode needs a source too (docker says the same).
    if (parseModeOrUndefined(parts[1]!)) throw new BoxError(`invalid volume specification "${spec}": give SOURCE:TARGET:${parts[1]}`);
    [source, target] = parts as [string, string];
  } else if (parts.length === 3) [source, target, mode] = parts as [string, string, string];
  else throw new BoxError(`invalid volume specification "${spec}": use SOURCE:TARGET[:MODE] or TARGET`);
  const m = parseMode(mode, spec);
  const clean = checkTarget(target, spec);
  if (parts.length > 1 && source === "") throw new BoxError(`invalid volume specification "${spec}": the source is empty`);
  if (source.startsWith("/")) {
    if (m.noCopy) throw new BoxError(`invalid mount "${spec}": nocopy is for volumes, not binds`);
    if (m.propagation) checkPropagation(m.propagation, spec);
    return { type: "bind", source: cleanHostPath(source), target: clean, readonly: m.readonly, recursive: !m.readonly, create: true, mode };
  }
  if (m.propagation) throw new BoxError(`invalid mount "${spec}": propagation is for binds, not volumes`);
  return { type: "volume", ...(source !== "" ? { name: checkVolumeName(source) } : {}), target: clean, readonly: m.readonly, noCopy: m.noCopy, mode };
}

function parseModeOrUndefined(word: string): boolean {
  return word.split(",").every((w) => [...RW, ...LABEL, ...COPY, ...CONSISTENCY, ...PROPAGATION].includes(w));
}

function cleanHostPath(p: string): string {
  if (p.includes("\0")) throw new BoxError("a host path contains a NUL byte");
  const clean = p.replace(/\/+/g, "/");
  return clean.length > 1 ? clean.replace(/\/$/, "") : clean;
}

/** The fields of a --mount value: comma-separated, double quotes as in CSV. */
function csvFields(value: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') {
      if (quoted && value[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (quoted) throw new BoxError(`invalid --mount "${value}": a quote is not closed`);
  out.push(cur);
  return out;
}

function boolValue(key: string, v: string | undefined, spec: string): boolean {
  if (v === undefined || v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new BoxError(`invalid --mount "${spec}": invalid value for ${key}: "${v}"`);
}

const BOOLEANS = new Set(["readonly", "ro", "volume-nocopy", "bind-nonrecursive"]);

/** --mount type=bind|volume|tmpfs,source=...,target=...,... */
export function parseMountFlag(spec: string): MountRequest {
  const f: Record<string, string | undefined> = {};
  for (const field of csvFields(spec)) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined && !BOOLEANS.has(key)) throw new BoxError(`invalid --mount "${spec}": the field "${field}" must be a key=value pair`);
    const canon = { src: "source", destination: "target", dst: "target", ro: "readonly" }[key] ?? key;
    if (!KEYS.has(canon)) throw new BoxError(`invalid --mount "${spec}": unexpected key "${key}"`);
    if (canon === "volume-label") {
      const [k = "", v = ""] = (value ?? "").split(/=(.*)/s);
      f[`label:${k}`] = v;
    } else f[canon] = value ?? "";
  }
  const type = f.type ?? "volume";
  if (f.target === undefined || f.target === "") throw new BoxError(`invalid --mount "${spec}": target is required`);
  const target = checkTarget(f.target, spec);
  const readonly = f.readonly !== undefined && boolValue("readonly", f.readonly, spec);
  const only = (allowed: string[]) => {
    for (const k of Object.keys(f)) {
      const base = k.startsWith("label:") ? "volume-label" : k;
      if (!["type", "source", "target", "readonly", "consistency", ...allowed].includes(base)) throw new BoxError(`invalid --mount "${spec}": ${base} is not an option of type=${type}`);
    }
  };
  switch (type) {
    case "bind": {
      only(["bind-propagation", "bind-recursive", "bind-nonrecursive"]);
      const source = f.source ?? "";
      if (source === "") throw new BoxError(`invalid --mount "${spec}": a bind needs a source`);
      if (!source.startsWith("/")) throw new BoxError(`invalid --mount "${spec}": the bind source "${source}" must be an absolute path`);
      if (f["bind-propagation"] !== undefined) checkPropagation(f["bind-propagation"], spec);
      let recursive = f["bind-recursive"] ?? (f["bind-nonrecursive"] !== undefined && boolValue("bind-nonrecursive", f["bind-nonrecursive"], spec) ? "disabled" : "enabled");
      if (!["enabled", "disabled", "writable", "readonly"].includes(recursive)) throw new BoxError(`invalid --mount "${spec}": bind-recursive is enabled, disabled, writable or readonly`);
      if (recursive === "readonly") throw new BoxError(`invalid --mount "${spec}": bind-recursive=readonly is not supported yet (box can make only the top mount read-only)`);
      if (readonly && recursive === "enabled") recursive = "disabled";
      return { type: "bind", source: cleanHostPath(source), target, readonly, recursive: recursive !== "disabled", create: false, mode: "" };
    }
    case "volume": {
      only(["volume-nocopy", "volume-label", "volume-driver"]);
      if (f["volume-driver"] !== undefined && f["volume-driver"] !== "local") throw new BoxError(`invalid --mount "${spec}": box's volumes are local (volume-driver=local)`);
      const labels = Object.fromEntries(Object.entries(f).filter(([k]) => k.startsWith("label:")).map(([k, v]) => [k.slice(6), v ?? ""]));
      const noCopy = f["volume-nocopy"] !== undefined && boolValue("volume-nocopy", f["volume-nocopy"], spec);
      const name = f.source ? checkVolumeName(f.source) : undefined;
      return { type: "volume", ...(name ? { name } : {}), target, readonly, noCopy, ...(Object.keys(labels).length ? { labels } : {}), mode: "" };
    }
    case "tmpfs": {
      only(["tmpfs-size", "tmpfs-mode"]);
      if (f.source) throw new BoxError(`invalid --mount "${spec}": a tmpfs has no source`);
      const options = ["nosuid", "nodev", "noexec", ...(readonly ? ["ro"] : [])];
      if (f["tmpfs-size"] !== undefined) options.push(`size=${parseSize(f["tmpfs-size"], "tmpfs-size")}`);
      if (f["tmpfs-mode"] !== undefined) options.push(`mode=${octal(f["tmpfs-mode"], spec)}`);
      return { type: "tmpfs", target, options };
    }
    default:
      throw new BoxError(`invalid --mount "${spec}": type is bind, volume or tmpfs`);
  }
}

const KEYS = new Set(["type", "source", "target", "readonly", "consistency", "bind-propagation", "bind-recursive", "bind-nonrecursive", "volume-nocopy", "volume-label", "volume-driver", "tmpfs-size", "tmpfs-mode"]);

function octal(v: string, spec: string): string {
  if (!/^[0-7]{1,4}$/.test(v)) throw new BoxError(`invalid mount "${spec}": the mode "${v}" is not an octal number such as 1777`);
  return v;
}
