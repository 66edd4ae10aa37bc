/**
 * The runc CLI's messages, in runc's formats: `--log-format text` (logfmt: time="..." level=error
 * msg="...") or `json` ({"level":"error","msg":"...","time":"..."}), on stderr; with `--log FILE`
 * the formatted line goes to the file (appended) and the plain sentence to stderr, as runc does,
 * since containerd and conmon read the file for the reason of a failure. Warnings likewise;
 * debug lines only with --debug.
 */
import { appendFileSync, writeSync } from "node:fs";
import { oneLine } from "../logger";

export type LogFormat = "text" | "json";
export type Level = "error" | "warning" | "debug";

export const log = {
  format: "text" as LogFormat,
  file: undefined as string | undefined,
  debug: false,
};

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export function formatLine(level: Level, msg: string, format: LogFormat = log.format): string {
  if (format === "json") return JSON.stringify({ level, msg, time: stamp() }) + "\n";
  return `time="${stamp()}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

export function say(level: Level, message: string): void {
  if (level === "debug" && !log.debug) return;
  const msg = oneLine(message);
  const line = formatLine(level, msg);
  if (log.file) {
    try {
      appendFileSync(log.file, line, { mode: 0o644 });
    } catch {
      /* the sentence still goes to stderr */
    }
    if (level !== "debug") writeSync(2, msg + "\n");
    return;
  }
  writeSync(2, line);
}

export const warn = (m: string) => say("warning", m);
export const debug = (m: string) => say("debug", m);
