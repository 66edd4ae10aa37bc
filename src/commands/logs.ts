/**
 * box logs: the output of a detached container, as its supervisor recorded it: one line per
 * record, in the CRI ("k8s-file") format `<RFC3339Nano time> <stdout|stderr> <F|P> <content>`
 * (F ends a line, P is part of one that goes on), in `log`, with the older part in `log.1`. Each
 * stream goes back to where it came from: stdout to stdout, stderr to stderr.
 */
import { defineCommand, type ArgsDef } from "citty";
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { isBusy } from "../container/state";
import { readLock } from "../sys/libc";
import { BoxError } from "../errors";
import { logPath, resolveContainer } from "../store/containers";
import { asDaemon, DAEMON_ERROR, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  follow: { type: "boolean", alias: "f", description: "Keep printing new output until the container ends" },
  tail: { type: "string", alias: "n", valueHint: "N", description: "Only the last N lines (all: every line)" },
  timestamps: { type: "boolean", alias: "t", description: "Show when each line was written" },
  since: { type: "string", valueHint: "TIME", description: "Only lines since TIME (2026-11-29T10:00:00Z, a unix time, or a duration like 10m)" },
  until: { type: "string", valueHint: "TIME", description: "Only lines before TIME (same forms as --since)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "logs", description: "Print the output of a detached container" }, args });

export interface LogLine {
  /** Milliseconds since the epoch, and the time as written (nanoseconds kept for -t). */
  ms: number;
  time: string;
  stream: "stdout" | "stderr";
  /** The content, with its newline when the line is whole. */
  text: Buffer;
}

const RECORD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (stdout|stderr) ([FP]) /;

/** Splits log bytes into records; returns the records and the bytes of an unfinished last one. */
export function parseLog(data: Buffer): { lines: LogLine[]; rest: Buffer } {
  const lines: LogLine[] = [];
  let at = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) break;
    const line = data.subarray(at, nl);
    at = nl + 1;
    const head = RECORD.exec(line.subarray(0, 64).toString("latin1"));
    if (!head) {
      // Not a record (a log of an older box): shown as it is, as output.
      lines.push({ ms: 0, time: "", stream: "stdout", text: Buffer.concat([line, Buffer.from("\n")]) });
      continue;
    }
    const content = line.subarray(head[0].length);
    lines.push({
      ms: Date.parse(head[1]!),
      time: head[1]!,
      stream: head[2] as "stdout" | "stderr",
      text: head[3] === "F" ? Buffer.concat([content, Buffer.from("\n")]) : Buffer.from(content),
    });
  }
  return { lines, rest: data.subarray(at) };
}

/** --since/--until: an RFC 3339 time, a unix time in seconds, or a duration back from now. */
export function parseTime(text: string, flag: string, now = Date.now()): number {
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (rel) return now - Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as "ms" | "s" | "m" | "h"];
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || !/^\d{4}-\d\d-\d\d/.test(text)) throw new BoxError(`invalid ${flag} "${text.slice(0, 64)}": give a time like 2026-11-29T10:00:00Z, a unix time, or a duration like 10m`);
  return ms;
}

/** The last n whole lines (a line is whole at its F record). */
export function tailLines(lines: LogLine[], n: number): LogLine[] {
  if (n <= 0) return [];
  let seen = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const ends = lines[i]!.text.at(-1) === 0x0a;
    if (ends) seen++;
    if (seen > n) return lines.slice(i + 1);
  }
  return lines;
}

/** Writes lines, each stream to its own fd, a run of one stream in one write. */
function writeLines(lines: LogLine[], timestamps: boolean): void {
  let i = 0;
  while (i < lines.length) {
    const stream = lines[i]!.stream;
    const parts: Buffer[] = [];
    for (; i < lines.length && lines[i]!.stream === stream; i++) {
      const l = lines[i]!;
      if (timestamps && l.time) parts.push(Buffer.from(l.time + " "));
      parts.push(l.text);
    }
    const data = Buffer.concat(parts);
    const fd = stream === "stderr" ? 2 : 1;
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
  }
}

/** The end of a log of an older box (raw output) may be a line without its newline: shown as it is.
 * A record being written is not (it is shown once whole). */
function writeUnfinished(rest: Buffer): void {
  if (rest.length === 0 || RECORD.test(rest.subarray(0, 64).toString("latin1"))) return;
  for (let done = 0; done < rest.length; ) done += writeSync(1, rest, done);
}

/** Reads what an open file has from offset on. */
function readRest(fd: number, offset: number): Buffer {
  const chunks: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, offset);
    if (n <= 0) break;
    chunks.push(buf.subarray(0, n));
    offset += n;
  }
  return Buffer.concat(chunks);
}

/** Opens a generation of the log, read-locked when following: the supervisor does not rotate away
 * a generation a follower has not finished (helper/log.c). */
function openLog(path: string, follow = false): number | undefined {
  try {
    const fd = openSync(path, "r");
    if (follow) readLock(fd);
    return fd;
  } catch {
    return undefined;
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd), b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "logs" });
  if (!line) return 0;
  const o = line.options;
  const tail = o.tail as string | undefined;
  if (tail !== undefined && tail !== "all" && !/^\d{1,9}$/.test(tail)) throw new BoxError(`invalid --tail "${tail.slice(0, 32)}": give a number of lines`);
  const since = o.since !== undefined ? parseTime(o.since as string, "--since") : undefined;
  const until = o.until !== undefined ? parseTime(o.until as string, "--until") : undefined;
  if (line.words.length !== 1) throw new BoxError("box logs takes one container. See 'box logs --help'.");
  const layout = storeFor("logs", line, globals);
  const c = await asDaemon(() => resolveContainer(layout, line.words[0]!));
  // A container with a terminal has a log too: its supervisor is detached from box's terminal.
  if (!c.detached && !existsSync(logPath(layout, c.id))) throw new BoxError(`container ${line.words[0]} was not detached: its output went to its terminal`, DAEMON_ERROR);
  const timestamps = o.timestamps === true;
  const wanted = (l: LogLine) => (since === undefined || l.ms >= since) && (until === undefined || l.ms < until);
  const path = logPath(layout, c.id);

  // The current log first, held open: a rotation while following renames it, and the rest of it
  // is still read from this fd before moving on to the new file. Then the older part, unless the
  // rotation it came from happened just now and it is the very file held.
  const follow = o.follow === true;
  let fd = openLog(path, follow);
  const old = openLog(`${path}.1`);
  let data = old !== undefined && !(fd !== undefined && sameFd(old, fd)) ? readRest(old, 0) : Buffer.alloc(0);
  if (old !== undefined) closeSync(old);
  let offset = 0;
  if (fd !== undefined) {
    const now = readRest(fd, 0);
    offset = now.length;
    data = Buffer.concat([data, now]);
  }
  let { lines, rest } = parseLog(data);
  lines = lines.filter(wanted);
  if (tail !== undefined && tail !== "all") lines = tailLines(lines, Number(tail));
  writeLines(lines, timestamps);
  if (o.follow !== true) {
    if (fd !== undefined) closeSync(fd);
    writeUnfinished(rest);
    return 0;
  }
  const emit = (more: Buffer) => {
    rest = Buffer.concat([rest, more]);
    const parsed = parseLog(rest);
    rest = parsed.rest;
    writeLines(parsed.lines.filter(wanted), timestamps);
  };
  for (;;) {
    const running = isBusy(layout, c.id);
    if (fd === undefined) fd = openLog(path, true);
    if (fd !== undefined) {
      const more = readRest(fd, offset);
      offset += more.length;
      emit(more);
      if (!sameFile(fd, path)) {
        // Rotated. The generation held stays held (so the supervisor cannot rotate it away) until
        // the next one is open and locked too; then it is read to its end: it was complete when it
        // was renamed.
        const next = openLog(path, true);
        if (next === undefined) {
          await Bun.sleep(5); // renamed, its successor not made yet
          continue;
        }
        emit(readRest(fd, offset));
        closeSync(fd);
        fd = next;
        offset = 0;
        continue;
      }
      if (more.length > 0) continue;
    }
    if (!running) {
      if (fd !== undefined) emit(readRest(fd, offset));
      writeUnfinished(rest);
      return 0;
    }
    await Bun.sleep(10);
  }
}

function sameFd(a: number, b: number): boolean {
  const x = fstatSync(a), y = fstatSync(b);
  return x.ino === y.ino && x.dev === y.dev;
}
