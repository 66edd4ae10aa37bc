import { defineCommand, type ArgsDef } from "citty";
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { openExportTree } from "../container/view";
import { fdSink, writeTar } from "../copy/tar-write";
import { asSentence } from "../copy/tree";
import { TreeSource } from "../copy/walk";
import { BoxError, describeSystemError } from "../errors";
import { writeAll } from "../fs/dir";
import { logger } from "../logger";
import { resolveContainer } from "../store/containers";
import { onInterrupt } from "../store/interrupt";
import { parseOrHelp, storeFor } from "./common";
import { isatty } from "../sys/terminal";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  output: { type: "string", alias: "o", valueHint: "FILE", description: "Write to FILE instead of stdout" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "export", description: "Write a container's filesystem as a tar archive (box import reads it)" }, args });

/**
 * box export: the container's own filesystem (its image with its changes, running or not; no
 * volume, bind or kernel filesystem, as docker export), read through its layers, never through a
 * link. To FILE (written whole under a scratch name, then renamed) or to stdout.
 */
export function main(tokens: string[], globals: Globals): Promise<number> {
  return asSentence(() => exportContainer(tokens, globals));
}

async function exportContainer(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "export" });
  if (!line) return 0;
  if (line.words.length !== 1) throw new BoxError("box export takes one container. See 'box export --help'.");
  const output = line.options.output as string | undefined;
  if (output === undefined && isatty(1)) throw new BoxError("box export will not write an archive to a terminal: use -o FILE or redirect stdout");
  const layout = storeFor("export", line, globals);
  const tree = await openExportTree(layout, resolveContainer(layout, line.words[0]!));
  const warn = (m: string) => logger.warn(m);
  try {
    const source = () => new TreeSource(tree, Buffer.alloc(0), { as: Buffer.alloc(0), warn });
    if (output === undefined) {
      await writeTar(source(), fdSink(1, "stdout"));
      return 0;
    }
    const tmp = `${output}.tmp-${process.pid}-${Date.now()}`;
    let fd: number;
    try {
      fd = openSync(tmp, "wx", 0o644);
    } catch (err) {
      throw new BoxError(`cannot write ${output}: ${describeSystemError(err, false)}`);
    }
    const undo = onInterrupt(() => rmSync(tmp, { force: true }));
    try {
      await writeTar(source(), (c) => writeAll(fd, c));
      fsyncSync(fd);
      closeSync(fd);
      fd = -1;
      renameSync(tmp, output);
    } finally {
      if (fd >= 0) closeSync(fd);
      rmSync(tmp, { force: true });
      undo();
    }
    return 0;
  } finally {
    tree.close();
  }
}
