import { readdirSync } from "node:fs";

/** The entries of a directory, or none when it cannot be read (not made yet, removed meanwhile). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Scratch files (`NAME.tmp-XXXX`, `NAME.part`) are never entries of their own. */
export function isScratch(entry: string): boolean {
  return entry.includes(".tmp-") || entry.endsWith(".tmp") || entry.endsWith(".part") || entry.startsWith(".");
}
