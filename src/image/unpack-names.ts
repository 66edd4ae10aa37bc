/**
 * The names of an archive's entries as the unpacker takes them (./unpack.ts): clean relative paths
 * or a refusal naming the entry; and a failed file operation put into a sentence naming it.
 */
import { BoxError } from "../errors";
import { isFsError, show, type Dir } from "../fs/dir";
import type { TarEntry } from "./tar";

export function refuse(entry: string, why: string): never {
  throw new BoxError(`refusing the archive entry "${entry}": ${why}`);
}

export const PATH_MAX = 4095;

/**
 * An archive member name as a clean relative path ("" for the root itself). Absolute names and
 * `..` components are refused rather than rewritten: an archive that needs them is not a root
 * filesystem box should trust.
 */
export function memberBytes(name: Buffer, shown = show(name)): Buffer {
  if (name[0] === 0x2f) refuse(shown, "it is an absolute path");
  const parts = name.toString("latin1").split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) refuse(shown, "it contains '..'");
  const out = Buffer.from(parts.join("/"), "latin1");
  if (out.length > PATH_MAX) refuse(shown, `its name is longer than ${PATH_MAX} bytes`);
  return out;
}

/** memberBytes for a text name (tests, messages). */
export function memberPath(name: string): string {
  return memberBytes(Buffer.from(name), name).toString("utf8");
}

/** A failed file operation as a sentence naming the entry (and the link in the way, if any). */
export function explain(err: unknown, dest: Dir, e: TarEntry, rel: Buffer, shown: string): Error {
  if (isFsError(err, "ELOOP", "ENOTDIR")) {
    const paths = e.type === "link" ? [rel, memberBytes(e.linkname)] : [rel];
    for (const p of paths) {
      const parts = p.toString("latin1").split("/");
      for (let i = 1; i <= parts.length; i++) {
        const prefix = Buffer.from(parts.slice(0, i).join("/"), "latin1");
        const st = dest.tryLstat(prefix);
        if (st?.type === "symlink" && i < parts.length) return new BoxError(`refusing the archive entry "${shown}": it would be written through the symbolic link "${show(prefix)}"`);
        if (st && st.type !== "dir" && st.type !== "symlink" && i < parts.length) return new BoxError(`refusing the archive entry "${shown}": "${show(prefix)}" is not a directory`);
      }
    }
  }
  // EINVAL from a chown in a user namespace: the owner is beyond the ids it maps.
  if (isFsError(err, "EINVAL") && err instanceof Error && err.message.includes("owner")) {
    return new BoxError(`cannot unpack the archive entry "${shown}": its owner ${e.uid}:${e.gid} is beyond the ids your user namespace maps (ask for a larger range in /etc/subuid and /etc/subgid)`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new BoxError(`cannot unpack the archive entry "${shown}": ${msg}`);
}
