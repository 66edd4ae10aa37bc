/** Exit codes, as docker and podman use them. */
export const EXIT = {
  /** box itself failed: bad input, missing image, a step of container setup. */
  boxFailed: 125,
  /** The command exists in the container but cannot be executed. */
  notExecutable: 126,
  /** The command was not found in the container. */
  notFound: 127,
} as const;

/** An error meant for the user: one sentence, and the exit code box ends with. */
export class BoxError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.boxFailed) {
    super(message);
    this.name = "BoxError";
    this.exitCode = exitCode;
  }
}

/**
 * The message of a Node/Bun system error without the syscall noise ("ENOENT: no such file ..."),
 * naming the path it concerns when it has one: "/var/lib/box/tmp: no space left on device".
 */
export function describeSystemError(err: unknown, withPath = true): string {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    const { code, message, path } = err as { code: unknown; message: unknown; path?: unknown };
    const text = String(message);
    const m = /^[A-Z]+: ([^,]+)/.exec(text);
    const what = m?.[1] ?? (typeof code === "string" ? code : text);
    return withPath && typeof path === "string" && path !== "" && !what.includes(path) ? `${path}: ${what}` : what;
  }
  return String(err);
}
