import { EMBEDDED_ALPINE } from "./alpine";
import { DEFAULT_PATH, encodeConfig, makeConfig, rfc3339 } from "./config";

/** When the embedded Alpine's newest entry was made (its image's "created"). */
export const EMBEDDED_ALPINE_CREATED = "2024-09-06T11:34:05Z";

/** The config box gives an Alpine minirootfs (embedded, or from a mirror): the same bytes for the
 * same tarball, so the same image ID wherever it came from. */
export function alpineConfig(diffID: string, newest: number): Buffer {
  return encodeConfig(makeConfig([diffID], rfc3339(newest), { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ["/bin/sh"] }, "alpine-minirootfs"));
}

export function embeddedConfig(): Buffer {
  return alpineConfig(EMBEDDED_ALPINE.diffID, Date.parse(EMBEDDED_ALPINE_CREATED) / 1000);
}
