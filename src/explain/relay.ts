/**
 * The relay of `--explain`: `box __explain` (src/commands/explain-relay.ts), started by ./start.ts,
 * not by hand. It reads the
 * helper's step lines from stdin (a pipe whose write end the helper's processes hold), puts each
 * into words and writes it to stderr, placed on the front end's time line: the front end gives its
 * origin on CLOCK_MONOTONIC (--origin-us), the helper its own in its first line.
 *
 * It ends at EOF, when the last process holding the pipe is gone. Ctrl-C reaches it too (it is in
 * box's process group): it is ignored, so the story is told to its end. On a terminal every line
 * ends in \r\n, as the container's terminal may be in raw mode by then.
 */
import { readlinkSync, writeSync } from "node:fs";
import { isatty } from "../sys/terminal";
import { parseStep, render, safe, sourceOf } from "./line";
import { explainStep, newContext, type Context } from "./words";

function hostNamespaces(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["mnt", "uts", "ipc", "net", "pid", "cgroup"]) {
    try {
      out[k] = /\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${k}`))?.[1] ?? "";
    } catch {
      /* a kernel without it */
    }
  }
  return out;
}

function contextFrom(json: string | undefined): Context {
  const ctx = newContext(hostNamespaces());
  try {
    const v = JSON.parse(json ?? "{}") as Record<string, unknown>;
    for (const k of ["address", "gateway", "seccompDefault"] as const) if (typeof v[k] === "string") ctx[k] = v[k] as string;
  } catch {
    /* no context: the sentences say less */
  }
  return ctx;
}

/** A relay's state: the helper's origin once its first line came. */
export class Relay {
  private helperOrigin?: bigint;
  constructor(
    private readonly frontOrigin: bigint,
    private readonly ctx: Context,
    private readonly out: (text: string) => void,
  ) {}

  line(raw: string): void {
    const s = parseStep(raw);
    if (!s) {
      this.out(`box          ?           (a line the explainer cannot read) ${safe(raw.slice(0, 300))}`);
      return;
    }
    if (s.file === "trace.c" && s.what === "start" && /^\d+$/.test(s.fields["monotonic-us"] ?? "")) {
      this.helperOrigin = BigInt(s.fields["monotonic-us"]!) - BigInt(s.usec);
    }
    const usec = this.helperOrigin !== undefined ? Number(this.helperOrigin + BigInt(s.usec) - this.frontOrigin) : s.usec;
    const text = explainStep(s, this.ctx);
    if (text !== undefined) this.out(render(usec, sourceOf(s.role, s.file, s.step), s.role, text).trimEnd());
  }
}

/** Reads stdin to EOF, telling each step on stderr. originUs: CLOCK_MONOTONIC of box's start;
 * context: what the front end learnt, as JSON (./start.ts passes both). */
export async function relay(originUs: string | undefined, context: string | undefined): Promise<number> {
  const origin = /^\d{1,20}$/.test(originUs ?? "") ? BigInt(originUs!) : 0n;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const) process.on(sig, () => {});
  const eol = isatty(2) ? "\r\n" : "\n";
  const relay = new Relay(origin, contextFrom(context), (text) => {
    try {
      writeSync(2, text + eol);
    } catch {
      /* stderr gone: the story has no reader, the container goes on */
    }
  });
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of Bun.stdin.stream()) {
    pending += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      relay.line(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > 4096) pending = pending.slice(0, 4096); // no line of the trace is that long
  }
  if (pending) relay.line(pending);
  return 0;
}
