import { readFileSync } from "node:fs";

/**
 * box's own command line and environment, byte for byte. Bun decodes argv and the environment as
 * UTF-8 and turns every byte that is not into U+FFFD, which would change the container's command
 * line. These read the kernel's copy instead and decode it with "surrogateescape": a byte that is
 * not part of valid UTF-8 becomes the lone surrogate U+DC00+byte, and the plan encoder turns it back
 * into that byte (src/spec/plan.ts, encodeBytes).
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    /* not UTF-8 throughout: decode piece by piece below */
  }
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        /* an invalid sequence: escape its first byte */
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return out;
}

function nulSeparated(path: string): string[] | undefined {
  try {
    const data = readFileSync(path);
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0) {
        parts.push(decodeBytes(data.subarray(from, i)));
        from = i + 1;
      }
    }
    if (from < data.length) parts.push(decodeBytes(data.subarray(from)));
    return parts;
  } catch {
    return undefined;
  }
}

/** The arguments after the program's name, exactly as given. */
export function rawArgs(): string[] {
  const given = process.argv.slice(2);
  const cmdline = nulSeparated("/proc/self/cmdline");
  // Bun's argv is [bun, script, args...]; the kernel's is [program, (script,) args...]: the args
  // are the same number of entries at the end of both.
  if (!cmdline || cmdline.length < given.length) return given;
  const raw = cmdline.slice(cmdline.length - given.length);
  return raw.length === given.length ? raw : given;
}

/** box's environment as the kernel holds it, for -e KEY (copying a variable into the container). */
export function rawEnv(): Record<string, string> {
  const entries = nulSeparated("/proc/self/environ");
  if (!entries) return { ...process.env } as Record<string, string>;
  const env: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}
