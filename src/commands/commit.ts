import { defineCommand, type ArgsDef } from "citty";
import { join } from "node:path";
import { globalArgs, type Globals } from "../cli/shared";
import { asSentence, DirTree } from "../copy/tree";
import { writeTar } from "../copy/tar-write";
import { TreeSource } from "../copy/walk";
import { BoxError } from "../errors";
import { Dir } from "../fs/dir";
import { applyChanges, type RunConfig } from "../image/config";
import { parseReference, tagName } from "../image/reference";
import { logger } from "../logger";
import type { RunRequest } from "../spec/request";
import { containerDir, resolveContainer, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  name: { type: "positional", required: false, valueHint: "[REPOSITORY[:TAG]]", description: "The new image's name (none: an image known by its ID)" },
  author: { type: "string", alias: "a", valueHint: "AUTHOR", description: "Author (\"Jane <jane@example.com>\")" },
  change: { type: "string", alias: "c", valueHint: "INSTRUCTION", description: "Set CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL or VOLUME, as docker commit -c (repeatable)" },
  message: { type: "string", alias: "m", valueHint: "MESSAGE", description: "Commit message (the history entry's comment)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "commit", description: "Make an image of a container's changes" }, args });

/**
 * The container's config as docker's commit carries it over: the image's, with what the
 * container was run with on top (its command and entrypoint, -e, -w, -u, published ports,
 * anonymous volumes), then --change.
 */
export function committedConfig(image: RunConfig, req: RunRequest | undefined, env: (given: readonly string[]) => string[]): RunConfig {
  const c: RunConfig = structuredClone(image);
  if (!req) return c;
  c.Env = env(req.env);
  if (req.entrypoint !== undefined) {
    if (req.entrypoint === "") delete c.Entrypoint;
    else c.Entrypoint = [req.entrypoint];
    if (req.command.length === 0) delete c.Cmd;
  }
  if (req.command.length > 0) c.Cmd = [...req.command];
  if (req.workdir) c.WorkingDir = req.workdir;
  if (req.user) c.User = req.user;
  for (const p of req.publish) c.ExposedPorts = { ...c.ExposedPorts, [`${p.containerPort}/${p.proto}`]: {} };
  for (const m of req.mounts ?? []) if (m.type === "volume" && m.name === undefined) c.Volumes = { ...c.Volumes, [m.target]: {} };
  return c;
}

/**
 * box commit: the container's changes (its overlay's upper directory, overlay whiteouts and opaque
 * directories turned into OCI whiteouts) as one more layer on its image, with its config carried
 * over. A running container is not paused: what it writes meanwhile may or may not be in the layer.
 */
export function main(tokens: string[], globals: Globals): Promise<number> {
  return asSentence(() => commit(tokens, globals));
}

async function commit(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "commit", repeatable: ["change"] });
  if (!line) return 0;
  if (line.words.length < 1 || line.words.length > 2) throw new BoxError("box commit takes a container and an optional name: box commit CONTAINER [REPOSITORY[:TAG]]. See 'box commit --help'.");
  const [word, nameWord] = line.words as [string, string | undefined];
  let name: string | undefined;
  if (nameWord !== undefined) {
    const ref = parseReference(nameWord);
    if (!ref || ref.digest) throw new BoxError(`invalid image name "${nameWord}": use lower-case letters, digits, '.', '_' and '-', and an optional :TAG`);
    name = tagName(ref);
  }
  const layout = storeFor("commit", line, globals);
  const r: ContainerRecord = resolveContainer(layout, word);
  if (r.request?.image.kind === "directory" || !r.imageId) throw new BoxError(`container ${word} runs on a directory, not an image: it has no layers to commit (box export makes a tarball of it)`);
  const { envFor, imageForRun } = await import("../image/run");
  const image = await imageForRun(layout, r.imageId, "never").catch(() => {
    throw new BoxError(`the image of container ${shortId(r.id)} (${r.image}) is no longer in the store`);
  });
  const config = applyChanges(committedConfig(image.config, r.request, (given) => envFor(image.config, given)), (line.options.change as string[] | undefined) ?? []);
  const upper = new DirTree(Dir.open(join(containerDir(layout, r.id), "upper"), "beneath"));
  const { commitLayer } = await import("../image/layer-commit");
  try {
    const id = await commitLayer(layout, {
      base: image.id,
      write: (sink) => writeTar(new TreeSource(upper, Buffer.alloc(0), { as: Buffer.alloc(0), layer: true, warn: (m) => logger.warn(m) }), sink),
      config,
      author: line.options.author as string | undefined,
      comment: line.options.message as string | undefined,
      createdBy: r.argv.join(" "),
      name,
      source: `commit of container ${shortId(r.id)}`,
    });
    out(id + "\n");
  } finally {
    upper.close();
  }
  return 0;
}
