/**
 * box __unpack [--squash] DIR: the unpacker as a process of its own, which the helper starts as
 * root of the user's namespace for a rootless store (src/image/store/ns-unpack.ts). It reads a tar
 * on stdin into DIR (an empty directory of the store's scratch space, opened "beneath": nothing in
 * the archive reaches outside it) and says what it unpacked as one JSON line on stdout. Not for
 * people: box --help does not list it.
 */
import { defineCommand, type ArgsDef } from "citty";
import { type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { out } from "../sys/out";
import { parseOrHelp } from "./common";

const args = {
  squash: { type: "boolean", description: "Every owner becomes root (a namespace of one id)" },
  dir: { type: "positional", required: true, valueHint: "DIR", description: "The directory to unpack into (empty)" },
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "__unpack", description: "Unpack a tar from stdin as root of a user namespace (box's own use)" }, args });

export async function main(tokens: string[], _globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "__unpack" });
  if (!line) return 0;
  const dir = line.words[0];
  if (line.words.length !== 1 || !dir?.startsWith("/")) throw new BoxError("box __unpack takes one absolute directory. See 'box __unpack --help'.");
  const [{ Dir }, { TarReader }, { unpackLayer }] = await Promise.all([import("../fs/dir"), import("../image/tar"), import("../image/unpack")]);
  const dest = Dir.open(dir, "beneath");
  try {
    const stdin = Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>;
    const stats = await unpackLayer(new TarReader(stdin), dest, { inNamespace: { squash: line.options.squash === true } });
    out(JSON.stringify(stats) + "\n");
  } finally {
    dest.close();
  }
  return 0;
}
