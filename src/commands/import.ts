import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { importArchive } from "../image/obtain";
import { collectStaleScratch } from "../image/store";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  file: { type: "positional", required: true, valueHint: "FILE|-", description: "A .tar, .tar.gz, .tgz, .tar.xz or .tar.zst root filesystem (docker export, minirootfs, debootstrap); - reads stdin" },
  name: { type: "positional", required: true, valueHint: "NAME[:TAG]", description: "The name to give it (tag default latest)" },
  change: { type: "string", alias: "c", valueHint: "INSTRUCTION", description: "Set CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL or VOLUME in its config, as docker import -c (repeatable)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "import", description: "Import a root filesystem tarball as an image" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "import", repeatable: ["change"] });
  if (!line) return 0;
  if (line.words.length !== 2) throw new BoxError(`box import takes a file and a name: box import FILE NAME[:TAG]. See 'box import --help'.`);
  const [file, name] = line.words as [string, string];
  const changes = (line.options.change as string[] | undefined) ?? [];
  const layout = storeFor("import", line, globals);
  collectStaleScratch(layout);
  const { image } = await importArchive(layout, file, name, changes);
  out(`${image.record.id}\n`);
  return 0;
}
