/**
 * `box __explain`: not a command for people. `box run --explain` starts it just before becoming the
 * helper, and it tells the helper's steps as they come (src/explain/relay.ts). Hidden from
 * `box --help`; its --help and bad flags answer as every command's do.
 */
import { defineCommand, type ArgsDef } from "citty";
import type { Globals } from "../cli/shared";
import { parseOrHelp } from "./common";

const args = {
  "origin-us": { type: "string", valueHint: "N", description: "CLOCK_MONOTONIC of box's start, in microseconds" },
  context: { type: "string", valueHint: "JSON", description: "What the front end learnt (the address, the seccomp filter's default action)" },
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "__explain", description: "The relay of --explain: reads the helper's steps on stdin, tells them on stderr" }, args });

export async function main(tokens: string[], _globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "__explain" });
  if (!line) return 0;
  const { relay } = await import("../explain/relay");
  return relay(line.options["origin-us"] as string | undefined, line.options.context as string | undefined);
}
