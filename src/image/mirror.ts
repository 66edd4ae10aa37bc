import { YAML } from "bun";
import { BoxError } from "../errors";

/**
 * Alpine's release mirrors, as published: <mirror>/<branch>/releases/<arch>/latest-releases.yaml is
 * a YAML list with one entry per flavor; the alpine-minirootfs entry names the tarball in the same
 * directory, with its size, sha256 and sha512.
 */
export const DEFAULT_MIRROR = "https://dl-cdn.alpinelinux.org/alpine";

export interface Release {
  version: string;
  branch: string;
  arch: string;
  file: string;
  size: number;
  sha256: string;
  sha512?: string;
  /** Where the tarball is. */
  url: string;
}

/** Which branch a tag lives on: latest -> latest-stable, 3.19 and 3.19.4 -> v3.19, edge -> edge. */
export function branchOf(tag: string): { branch: string; version?: string } {
  if (tag === "latest") return { branch: "latest-stable" };
  if (tag === "edge") return { branch: "edge" };
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(tag);
  if (!m) throw new BoxError(`unknown Alpine tag "${tag}": use latest, edge, a branch like 3.19 or a release like 3.19.4`);
  return { branch: `v${m[1]}.${m[2]}`, version: m[3] !== undefined ? tag : undefined };
}

/** The machine's name for its architecture, as Alpine's mirrors spell it. */
export function alpineArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7", ia32: "x86", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[nodeArch] ?? nodeArch;
}

export function indexUrl(mirror: string, branch: string, arch: string): string {
  return `${mirror.replace(/\/+$/, "")}/${branch}/releases/${arch}/latest-releases.yaml`;
}

/** Picks the minirootfs entry out of latest-releases.yaml, checking what box relies on. */
export function parseReleases(text: string, base: string, wanted?: string): Release {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new BoxError(`the mirror's latest-releases.yaml does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(doc)) throw new BoxError("the mirror's latest-releases.yaml is not a list of releases");
  const entry = doc.find((e): e is Record<string, unknown> => !!e && typeof e === "object" && (e as Record<string, unknown>).flavor === "alpine-minirootfs");
  if (!entry) throw new BoxError("the mirror's latest-releases.yaml has no alpine-minirootfs entry");
  const str = (k: string) => (entry[k] === undefined || entry[k] === null ? undefined : String(entry[k]));
  const file = str("file"), version = str("version"), sha256 = str("sha256");
  const size = Number(entry.size);
  if (!file || !version || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isSafeInteger(size) || size <= 0 || file.includes("/")) {
    throw new BoxError("the mirror's alpine-minirootfs entry lacks a valid file, version, size or sha256");
  }
  if (wanted !== undefined && version !== wanted) {
    throw new BoxError(`Alpine ${wanted} is not available: the newest release of its branch is ${version}`);
  }
  const sha512 = str("sha512");
  return {
    version,
    branch: str("branch") ?? "",
    arch: str("arch") ?? "",
    file,
    size,
    sha256,
    sha512: sha512 && /^[0-9a-f]{128}$/.test(sha512) ? sha512 : undefined,
    url: base.replace(/[^/]*$/, file),
  };
}
