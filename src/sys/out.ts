import { writeSync } from "node:fs";

/**
 * What box prints for people and scripts goes to fd 1 through here, never through process.stdout:
 * the first touch of process.stdout costs Bun about 14 ms of start-up (measured: a compiled
 * `out("hello")` takes 17.7 ms, `writeSync(1, ...)` 5.3 ms), more than the
 * rest of `box --version` or `box ps`.
 *
 * Every byte is written (a short write is followed up); a stdout that is non-blocking and full is
 * waited on; a reader that went away (`box ps | head -1`) ends the output quietly, as a pipeline
 * expects.
 */
const closed = new Set<number>();

export function out(text: string | Uint8Array): void {
  writeAll(1, text);
}

/** A prompt or a progress line on stderr, outside the logger's one-line format. */
export function errOut(text: string | Uint8Array): void {
  writeAll(2, text);
}

function writeAll(fd: number, text: string | Uint8Array): void {
  if (closed.has(fd)) return;
  let data = typeof text === "string" ? Buffer.from(text) : text;
  while (data.length > 0) {
    let n: number;
    try {
      n = writeSync(fd, data);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EPIPE") {
        closed.add(fd);
        return;
      }
      throw err;
    }
    data = data.subarray(n);
  }
}
