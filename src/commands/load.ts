import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { isatty } from "../sys/terminal";
import { BoxError } from "../errors";
import { familiar } from "../image/reference";
import { collectStaleScratch } from "../image/store";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  input: { type: "string", alias: "i", valueHint: "FILE|DIR|-", description: "An archive from docker save, podman save or skopeo (docker-archive or oci-archive, compressed or not), or an OCI layout directory (default: stdin)" },
  quiet: { type: "boolean", alias: "q", description: "Print nothing" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "load", description: "Load images from an archive (docker save, podman save, OCI)" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "load" });
  if (!line) return 0;
  if (line.words.length > 0) throw new BoxError(`box load takes no arguments: box load -i FILE (or the archive on stdin). See 'box load --help'.`);
  const input = (line.options.input as string | undefined) ?? "-";
  if (input === "-" && isatty(0)) throw new BoxError("box load reads an archive on stdin, which is a terminal: give -i FILE, or redirect stdin");
  const layout = storeFor("load", line, globals);
  collectStaleScratch(layout);
  const { loadImages } = await import("../image/load");
  const loaded = await loadImages(layout, input);
  if (line.options.quiet !== true) {
    const lines = loaded.flatMap((l) => (l.names.length ? l.names.map((n) => `Loaded image: ${familiar(n)}`) : [`Loaded image ID: ${l.id}`]));
    out(lines.join("\n") + "\n");
  }
  return 0;
}
