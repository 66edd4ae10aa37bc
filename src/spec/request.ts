/**
 * What a user asked a container to be (docker's run/create flags, validated): everything needed to
 * start it, and to start it again later (`box start` of a stopped container). Stored in the
 * container's record; the spec is built from it each time the container starts.
 */
import type { Limits } from "../cgroup/limits";
import type { PullPolicy } from "../image/run";
import type { Publish } from "../net/ports";
import type { NetworkMode } from "../net/setup";
import { arr, bool, int, num, obj, oneOf, opt, pattern, str, type Check } from "../validate";
import type { SecurityInput } from "./build";



/** The root: an image as named on the line (the default image when none was), or a directory used
 * in place. orCommandIn: the word was not a command of that image either (said if a pull fails). */
export type ImageSource = { kind: "image"; word: string; orCommandIn?: string } | { kind: "directory"; path: string };

export interface RunRequest {
  image: ImageSource;
  /** --pull: missing (default), always, never. */
  pull: PullPolicy;
  /** --entrypoint: replaces the image's ("" for none). */
  entrypoint?: string;
  /** The command given on the line (empty: the image's default). */
  command: string[];
  name?: string;
  hostname?: string;
  /** -e entries, KEY=VALUE, in order. */
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  /** Removed when it ends: --rm, or a foreground run without --name. */
  autoRemove: boolean;
  network: NetworkMode;
  publish: Publish[];
  security: SecurityInput;
  limits: Limits;
  cgroupParent: string;
  /** A detached container's log is rotated past this many bytes (default LOG_CAP). */
  logMaxSize?: number;
}

const checkImage: Check<ImageSource> = (v, at) => {
  const kind = oneOf("image", "directory")((v as { kind?: unknown } | null)?.kind, `${at}.kind`);
  return kind === "image"
    ? obj<{ kind: "image"; word: string; orCommandIn?: string }>({ kind: oneOf("image"), word: str, orCommandIn: opt(str) })(v, at)
    : obj<{ kind: "directory"; path: string }>({ kind: oneOf("directory"), path: pattern(/^\//, "an absolute path") })(v, at);
};

export const checkRequest: Check<RunRequest> = obj<RunRequest>({
  image: checkImage,
  pull: oneOf("missing", "always", "never"),
  entrypoint: opt(str),
  command: arr(str),
  name: opt(str),
  hostname: opt(str),
  env: arr(str),
  workdir: opt(str),
  user: opt(str),
  interactive: bool,
  tty: bool,
  detach: bool,
  autoRemove: bool,
  network: oneOf("none", "host", "bridge"),
  publish: arr(obj<Publish>({ hostIp: opt(str), hostPort: int, containerPort: int, proto: oneOf("tcp", "udp") })),
  security: obj<SecurityInput>({ capabilities: arr(str), noNewPrivileges: bool, seccomp: bool, systemPaths: bool, privileged: bool }),
  limits: obj<Limits>({ pids: int, memory: opt(int), memorySwap: opt(int), cpus: opt(num), cpuShares: opt(int), cpuWeight: opt(int) }),
  cgroupParent: str,
  logMaxSize: opt(int),
});
