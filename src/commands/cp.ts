import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { openView } from "../container/view";
import { containerSource, copyToContainer, copyToHost, hostSource, type CopyOptions } from "../copy/cp";
import { asSentence } from "../copy/tree";
import { TreeSource } from "../copy/walk";
import { fdSink, writeTar } from "../copy/tar-write";
import { BoxError } from "../errors";
import { logger } from "../logger";
import type { IdMap } from "../spec/types";
import { resolveContainer } from "../store/containers";
import { readSpec } from "../store/container-spec";
import { parseOrHelp, storeFor } from "./common";
import { isatty } from "../sys/terminal";

const args = {
  src: { type: "positional", required: true, valueHint: "CONTAINER:SRC_PATH|SRC_PATH|-", description: "What to copy (- : a tar stream on stdin)" },
  dest: { type: "positional", required: true, valueHint: "CONTAINER:DEST_PATH|DEST_PATH|-", description: "Where (- : a tar stream on stdout)" },
  archive: { type: "boolean", alias: "a", description: "Keep owners (uid, gid) as in the source" },
  "follow-link": { type: "boolean", alias: "L", description: "Follow a symbolic link that SRC_PATH names" },
  quiet: { type: "boolean", alias: "q", description: "Say nothing (box says nothing anyway)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "cp", description: "Copy files between a container and the host (or a tar stream)" }, args });

/** docker's split: CONTAINER:PATH, unless the word is a local path (absolute, or starting with '.'). */
function split(word: string): { container?: string; path: string } {
  const colon = word.indexOf(":");
  if (word.startsWith("/") || word.startsWith(".") || colon < 0) return { path: word };
  return { container: word.slice(0, colon), path: word.slice(colon + 1) };
}

export function main(tokens: string[], globals: Globals): Promise<number> {
  return asSentence(() => copy(tokens, globals));
}

async function copy(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "cp" });
  if (!line) return 0;
  if (line.words.length !== 2) throw new BoxError("box cp takes a source and a destination: box cp CONTAINER:SRC DEST, or box cp SRC CONTAINER:DEST. See 'box cp --help'.");
  const [from, to] = line.words.map(split) as [ReturnType<typeof split>, ReturnType<typeof split>];
  if (from.container !== undefined && to.container !== undefined) throw new BoxError("copying between containers is not supported: copy to the host first");
  if (from.container === undefined && to.container === undefined) throw new BoxError("box cp needs a container on one side: CONTAINER:PATH");
  const side = (from.container ?? to.container)!;
  const path = from.container !== undefined ? from.path : to.path;
  if (side === "") throw new BoxError("box cp: the container name before ':' is empty");
  if (path === "") throw new BoxError(`box cp: give a path in the container after '${side}:'`);
  const opts: CopyOptions = { archive: line.options.archive === true, followLink: line.options["follow-link"] === true, warn: (m) => logger.warn(m) };
  const layout = storeFor("cp", line, globals);
  const record = resolveContainer(layout, side);
  const abs = path.startsWith("/") ? path : `/${path}`;
  // A container with a user namespace of its own: what it calls root is another id on the host.
  const maps = readSpec(layout, record)?.linux;
  const hostRoot = (m: readonly IdMap[]) => m.find((r) => r.containerID === 0)?.hostID;
  if (maps?.uidMappings && maps.gidMappings) {
    if (to.container !== undefined && opts.archive) throw new BoxError("box cp -a into a container with a user namespace of its own (rootless, --userns=auto) is not supported: leave out -a, and the files become its root's");
    const uid = hostRoot(maps.uidMappings), gid = hostRoot(maps.gidMappings);
    if (uid !== undefined && gid !== undefined) opts.rootOwner = { uid, gid };
  }

  if (from.container !== undefined) {
    if (to.path === "-" && isatty(1)) throw new BoxError("box cp will not write a tar stream to a terminal: redirect stdout, or give a path");
    const view = await openView(layout, record, "read");
    try {
      const src = containerSource(view, abs, opts);
      if (to.path === "-") await writeTar(new TreeSource(src.tree, src.rel, { as: src.content ? Buffer.alloc(0) : src.name, warn: opts.warn }), fdSink(1, "stdout"));
      else await copyToHost(src, to.path, opts);
    } finally {
      view.close();
    }
    return 0;
  }
  const view = await openView(layout, record, "write");
  try {
    if (from.path === "-") {
      const [{ decompress }, { TarReader }] = await Promise.all([import("../image/archive"), import("../image/tar")]);
      const { stream } = await decompress(Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>);
      await copyToContainer(new TarReader(stream), view, abs, opts);
    } else {
      const src = hostSource(from.path, opts);
      try {
        await copyToContainer(src, view, abs, opts);
      } finally {
        src.tree.close();
      }
    }
  } finally {
    view.close();
  }
  return 0;
}
