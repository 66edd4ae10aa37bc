/**
 * Names: one file per tag under <lib>/refs, named by the normalised reference with '/' written as
 * "%2F" ("docker.io%2Flibrary%2Falpine:3.20"), holding the image ID ("sha256:<hex>\n"). A file
 * is replaced atomically (scratch "NAME.tmp-XXXX", then rename), and scratch files are never
 * taken for names. A file whose name or content is not valid is skipped (and reported by `box
 * images` as damaged), never a crash.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./write";
import { isScratch, listDir } from "../../store/dirs";
import { isDigest } from "../digest";
import { parseReference, tagName } from "../reference";
import type { StorePaths } from "./paths";

export function refFileName(name: string): string {
  return name.replaceAll("/", "%2F");
}

export function nameOfRefFile(file: string): string | undefined {
  if (isScratch(file) || !file.includes("%2F")) return undefined;
  const name = file.replaceAll("%2F", "/");
  const r = parseReference(name);
  return r && !r.digest && r.tag !== undefined && tagName(r) === name ? name : undefined;
}

/** The image ID a name points at, or undefined (no such name, or its file is damaged). */
export function readRef(p: StorePaths, name: string): string | undefined {
  try {
    const id = readFileSync(join(p.refs, refFileName(name)), "utf8").trim();
    return isDigest(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

export function writeRef(p: StorePaths, name: string, id: string): void {
  writeFileAtomic(join(p.refs, refFileName(name)), id + "\n");
}

export function deleteRef(p: StorePaths, name: string): boolean {
  try {
    unlinkSync(join(p.refs, refFileName(name)));
    return true;
  } catch {
    return false;
  }
}

export interface Ref {
  name: string;
  id: string;
}

/** Every valid name; `damaged` gets the files that are not. */
export function listRefs(p: StorePaths, damaged?: string[]): Ref[] {
  const out: Ref[] = [];
  for (const file of listDir(p.refs)) {
    if (isScratch(file)) continue;
    const name = nameOfRefFile(file);
    const id = name && readRef(p, name);
    if (name && id) out.push({ name, id });
    else if (file.includes("%2F")) damaged?.push(join(p.refs, file));
  }
  return out;
}
