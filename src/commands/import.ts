import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { importArchive } from "../image/obtain";
import { parseRef } from "../image/reference";
import { collectStaleScratch } from "../image/store";
import { parseOrHelp, storeFor } from "./common";

const args = {
  file: { type: "positional", required: true, valueHint: "FILE|-", description: "A .tar, .tar.gz, .tgz, .tar.xz or .tar.zst root filesystem (docker export, minirootfs, debootstrap); - reads stdin" },
  name: { type: "positional", required: true, valueHint: "NAME[:TAG]", description: "The name to give it (tag default latest)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "import", description: "Import a root filesystem tarball as an image" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "import" });
  if (!line) return 0;
  if (line.words.length !== 2) throw new BoxError(`box import takes a file and a name: box import FILE NAME[:TAG]. See 'box import --help'.`);
  const [file, name] = line.words as [string, string];
  const ref = parseRef(name);
  if (!ref) throw new BoxError(`invalid image name "${name}": use lower-case letters, digits, '.', '_' and '-', and an optional :TAG`);
  const layout = storeFor("import", line, globals);
  collectStaleScratch(layout);
  const { digest } = await importArchive(layout, file, ref);
  process.stdout.write(`sha256:${digest}\n`);
  return 0;
}
