/**
 * attach: box's terminal joined to a running container's console, through the unix socket its
 * supervisor listens on (<run>/<id>.attach). The protocol, version 1:
 *
 *   client -> supervisor, once:  "BOXATTACH 1 stdin=0|1 rows=R cols=C\n"
 *   supervisor -> client, once:  "OK tty=0|1\n", or "ERR <one sentence>\n" and the end
 *   then frames both ways: a type byte, a u32 big-endian length, that many bytes:
 *     client -> supervisor   'i' input for the command (to its pty, or its stdin pipe when it was
 *                                 started with -i; dropped otherwise)
 *                            'e' end of input (a pipe is closed; a pty gets nothing)
 *                            'w' window size: u16 rows, u16 cols (big-endian), set on the pty
 *     supervisor -> client   'o' output (the pty's, or the command's stdout)
 *                            'r' the command's stderr (without a tty)
 *                            'x' the command ended: i32 big-endian exit status; then the end
 * Every client gets all output from the moment it is attached; the log still gets it too. The
 * detach keys (Ctrl-P Ctrl-Q unless --detach-keys) are the client's: it stops sending and closes.
 */
import { BoxError } from "../errors";

export const ATTACH_VERSION = 1;

export function frame(type: "i" | "e" | "w", payload: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

export function winsizeFrame(rows: number, cols: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint16(0, rows);
  new DataView(p.buffer).setUint16(2, cols);
  return frame("w", p);
}

/** docker's --detach-keys: "ctrl-p,ctrl-q", "ctrl-a,x": the bytes of the sequence. */
export function parseDetachKeys(text: string): number[] {
  const keys = text.split(",").map((k) => {
    const ctrl = /^ctrl-([a-z@\[\\\]^_])$/.exec(k);
    if (ctrl) return ctrl[1]!.toUpperCase().charCodeAt(0) & 0x1f;
    if (k.length === 1) return k.charCodeAt(0);
    throw new BoxError(`invalid --detach-keys "${text.slice(0, 32)}": use keys like ctrl-p,ctrl-q or ctrl-a,x`);
  });
  if (keys.length === 0) throw new BoxError("invalid --detach-keys: give at least one key");
  return keys;
}

/**
 * Watches input for the detach sequence. Bytes that start the sequence are held back until it is
 * clear whether it comes; if it does not, they are passed on.
 */
export class DetachWatch {
  private held: number[] = [];
  constructor(private readonly keys: number[]) {}

  /** What to send of this input, and whether the sequence was completed. */
  feed(data: Uint8Array): { send: Uint8Array; detach: boolean } {
    const out: number[] = [];
    for (const b of data) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) return { send: Uint8Array.from(out), detach: true };
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    return { send: Uint8Array.from(out), detach: false };
  }
}

export type ServerEvent = { kind: "hello"; tty: boolean } | { kind: "error"; message: string } | { kind: "out" | "err"; data: Uint8Array } | { kind: "exit"; status: number };

/** Decodes what the supervisor sends, as it arrives in pieces. */
export class ServerReader {
  private buf = new Uint8Array();
  private greeted = false;

  push(chunk: Uint8Array): ServerEvent[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const events: ServerEvent[] = [];
    if (!this.greeted) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) {
        if (this.buf.length > 1024) throw new BoxError("the container's supervisor answered box attach with something else than its protocol");
        return events;
      }
      const line = new TextDecoder().decode(this.buf.subarray(0, nl));
      this.buf = this.buf.slice(nl + 1);
      this.greeted = true;
      const ok = /^OK tty=([01])$/.exec(line);
      if (ok) events.push({ kind: "hello", tty: ok[1] === "1" });
      else if (line.startsWith("ERR ")) return [{ kind: "error", message: line.slice(4) }];
      else throw new BoxError("the container's supervisor answered box attach with something else than its protocol");
    }
    while (this.buf.length >= 5) {
      const len = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(1);
      if (this.buf.length < 5 + len) break;
      const type = String.fromCharCode(this.buf[0]!);
      const payload = this.buf.slice(5, 5 + len);
      this.buf = this.buf.slice(5 + len);
      if (type === "o") events.push({ kind: "out", data: payload });
      else if (type === "r") events.push({ kind: "err", data: payload });
      else if (type === "x" && len === 4) events.push({ kind: "exit", status: new DataView(payload.buffer).getInt32(0) });
      else throw new BoxError(`the container's supervisor sent an unknown attach frame '${type}'`);
    }
    return events;
  }
}

export function hello(stdin: boolean, rows: number, cols: number): string {
  return `BOXATTACH ${ATTACH_VERSION} stdin=${stdin ? 1 : 0} rows=${rows} cols=${cols}\n`;
}
