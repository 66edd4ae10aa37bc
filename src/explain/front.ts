/**
 * `--explain` in the front end: its own phases (src/trace.ts) put into words as they happen, on
 * stderr. The helper's steps come later, through the relay (./relay.ts), on the same time line.
 */
import { writeSync } from "node:fs";
import { render, sourceOf } from "./line";
import { explainStep, newContext, type Context } from "./words";

export type FrontExplainer = (usec: number, where: string, what: string, fields: Record<string, string>) => void;

let ctx: Context = newContext();

/** What the front end learnt that the helper's lines do not say (the address, the filter's
 * default action): handed to the relay. */
export function frontContext(): Context {
  return ctx;
}

/** A line on stderr; a story nobody can read (stderr closed) does not stop the container. */
function say(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    /* no reader */
  }
}

export function explainFront(command: string): FrontExplainer {
  ctx = newContext();
  say(render(0, "src/cli.ts:1", "front", `box ${command} starts as pid ${process.pid}: Bun runs box's bundled TypeScript (times count from here)`));
  say(render(Math.round(performance.now() * 1000), `src/commands/${command}.ts:main`, "front", "the command line is read and checked; --explain asks for this story"));
  return (usec, where, what, fields) => {
    const at = where.lastIndexOf(":");
    const [file, step] = at > 0 ? [where.slice(0, at), where.slice(at + 1)] : [where, "0"];
    const text = explainStep({ usec, role: "front", file, step, what, fields, pairs: Object.entries(fields) }, ctx);
    if (text !== undefined) say(render(usec, sourceOf("front", file, step), "front", text));
  };
}
