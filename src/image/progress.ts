/**
 * Progress of a pull: on a terminal, one line per layer redrawn in place (bytes, rate, ETA), as
 * docker shows it; otherwise a plain line when a layer is done. Always on stderr.
 */
import { writeSync } from "node:fs";
import { humanSize } from "../human";

export interface Bar {
  /** Bytes expected (0 when unknown). */
  total: number;
  update(done: number): void;
  finish(status: string): void;
}

interface Line {
  label: string;
  status: string;
  done: number;
  total: number;
  started: number;
  finished: boolean;
}

function eta(secs: number): string {
  if (!Number.isFinite(secs)) return "--";
  if (secs < 60) return `${Math.ceil(secs)}s`;
  return `${Math.floor(secs / 60)}m${String(Math.ceil(secs % 60)).padStart(2, "0")}s`;
}

export class Progress {
  private readonly lines: Line[] = [];
  private drawn = 0;
  private last = 0;

  constructor(
    private readonly tty: boolean,
    private readonly quiet = false,
  ) {}

  bar(label: string, total: number, status = "Waiting"): Bar {
    const line: Line = { label, status, done: 0, total, started: 0, finished: false };
    this.lines.push(line);
    this.render(true);
    return {
      total,
      update: (done) => {
        if (!line.started) line.started = performance.now();
        line.done = done;
        const first = line.status !== "Downloading";
        line.status = "Downloading";
        this.render(first);
      },
      finish: (status) => {
        line.finished = true;
        line.status = status;
        line.done = line.total;
        if (!this.tty && !this.quiet) writeSync(2, `box: ${label}: ${status}${line.total ? ` (${humanSize(line.total)})` : ""}\n`);
        this.render(true);
      },
    };
  }

  private text(l: Line): string {
    if (l.finished || l.status !== "Downloading") return `${l.label}: ${l.status}`;
    const secs = Math.max((performance.now() - l.started) / 1000, 0.001);
    const rate = l.done / secs;
    const frac = l.total > 0 ? Math.min(l.done / l.total, 1) : 0;
    const width = 24;
    const fill = Math.floor(frac * width);
    const bar = "=".repeat(fill) + (fill < width ? ">" : "") + " ".repeat(Math.max(0, width - fill - 1));
    return `${l.label}: Downloading [${bar}] ${humanSize(l.done)}/${humanSize(l.total)} ${humanSize(rate)}/s ETA ${eta((l.total - l.done) / rate)}`;
  }

  private render(force: boolean): void {
    if (!this.tty || this.quiet) return;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    for (const l of this.lines) out += `\r${this.text(l)}\x1b[K\n`;
    this.drawn = this.lines.length;
    writeSync(2, out);
  }

  /** A line above the bars (a title). */
  note(text: string): void {
    if (this.quiet) return;
    if (this.tty && this.drawn > 0) {
      writeSync(2, `\x1b[${this.drawn}A\r${text}\x1b[K\n`);
      this.drawn = 0;
      this.render(true);
    } else writeSync(2, `box: ${text}\n`);
  }
}
