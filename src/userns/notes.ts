/**
 * Things a rootless user is told once per store, not on every run: that its containers map its own
 * id alone, or that they run without a pids limit. A note is an empty file under <lib>/notes; remove
 * it to hear it again.
 */
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../logger";
import type { Layout } from "../store/layout";

export function sayOnce(layout: Layout, key: string, message: string): void {
  const dir = join(layout.lib, "notes");
  const file = join(dir, key);
  if (existsSync(file)) return;
  logger.warn(`${message} (said once: ${file})`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeSync(openSync(file, "w", 0o644));
  } catch {
    /* said again next time */
  }
}
