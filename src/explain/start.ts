/**
 * Starts the relay that puts the helper's steps into words (./relay.ts): box itself, run again as
 * `box __explain`, reading a pipe. The pipe's write end is what the plan's 'trace' record names;
 * every process of the helper that still traces holds it, so the relay reads to EOF and ends when
 * the last of them does. The relay gets no other fd of box's: stdin is the pipe, stdout /dev/null,
 * stderr box's own (where its lines go). Only with --explain: nothing here runs otherwise.
 */
import { closeSync } from "node:fs";
import { inheritable, pipe } from "../sys/libc";
import { frontContext } from "./front";

/** Returns the fd the helper is to write its steps to. */
export function startRelay(origin: bigint): number {
  const [r, w] = pipe();
  // Compiled, box is /proc/self/exe; run from source (bun src/cli.ts), it is bun and the script.
  const self = Bun.main.startsWith("/$bunfs/") ? ["/proc/self/exe"] : [process.execPath, Bun.main];
  const ctx = frontContext();
  const context = JSON.stringify({ address: ctx.address, gateway: ctx.gateway, seccompDefault: ctx.seccompDefault });
  Bun.spawn([...self, "__explain", "--origin-us", origin.toString(), "--context", context], {
    stdin: r,
    stdout: "ignore",
    stderr: "inherit",
    env: {},
  });
  closeSync(r);
  inheritable(w);
  return w;
}
