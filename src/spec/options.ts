/**
 * Checks of what a user gives on the command line for a container's process (shared by run,
 * create and exec): environment, working directory, hostname, network, security options.
 */
import { BoxError } from "../errors";
import type { NetworkMode } from "../net/setup";
import type { SecurityInput } from "./build";
import { resolveCapabilities } from "./capabilities";

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function checkHostname(name: string): string {
  if (name.length > 64 || !HOSTNAME.test(name)) {
    throw new BoxError(`invalid hostname "${name}": use up to 64 letters, digits, '-' and '.'`);
  }
  return name;
}

/** -e KEY=VAL as given; -e KEY takes KEY from box's own environment, or is dropped when unset (docker). */
export function checkEnv(entries: readonly string[], hostEnvOf: () => Record<string, string | undefined>): string[] {
  const out: string[] = [];
  let hostEnv: Record<string, string | undefined> | undefined;
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === "" || /\s/.test(key)) throw new BoxError(`invalid environment variable "${e}": expected KEY=VALUE`);
    if (eq >= 0) out.push(e);
    else if ((hostEnv ??= hostEnvOf())[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

export function checkWorkdir(dir: string): string {
  if (!dir.startsWith("/")) throw new BoxError(`the working directory "${dir}" must be an absolute path`);
  return dir;
}

/** --network, else BOX_NETWORK, else bridge (root's default; a rootless container's is chosen
 * among pasta, slirp4netns and none: src/net/usermode.ts). */
export function checkNetwork(flag: string | undefined, env: Record<string, string | undefined> = process.env): NetworkMode {
  const mode = flag ?? (env.BOX_NETWORK || undefined) ?? "bridge";
  if (mode === "none" || mode === "host" || mode === "bridge" || mode === "pasta" || mode === "slirp4netns") return mode;
  throw new BoxError(`unknown network "${mode}": use bridge, none, host, pasta or slirp4netns`);
}

export interface SecurityFlags {
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
}

/**
 * The confinement of a container, from docker's flags: the default capability set adjusted by
 * --cap-add/--cap-drop, no_new_privs, the seccomp filter and the masked paths, all on unless
 * --security-opt or --privileged turns them off.
 */
export function resolveSecurity(o: SecurityFlags, available: readonly string[]): SecurityInput {
  const sec: SecurityInput = {
    capabilities: resolveCapabilities(o.capAdd, o.capDrop, o.privileged, available),
    noNewPrivileges: true,
    seccomp: !o.privileged,
    systemPaths: !o.privileged,
    privileged: o.privileged,
  };
  for (const opt of o.securityOpt) {
    const [key, value = "true"] = opt.split(/[=:]/, 2);
    if (key === "seccomp" && value === "unconfined") sec.seccomp = false;
    else if (key === "systempaths" && value === "unconfined") sec.systemPaths = false;
    else if (key === "no-new-privileges" && (value === "true" || value === "false")) sec.noNewPrivileges = value === "true";
    else {
      throw new BoxError(
        `unsupported security option "${opt}": use seccomp=unconfined, no-new-privileges[=true|false] or systempaths=unconfined`,
      );
    }
  }
  return sec;
}
