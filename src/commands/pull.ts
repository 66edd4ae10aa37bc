import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { parseReference, parseRef, familiar, fullName } from "../image/reference";
import { collectStaleScratch } from "../image/store";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  image: { type: "positional", required: true, valueHint: "[REGISTRY/]NAME[:TAG|@DIGEST]", description: "nginx, python:3.12, ghcr.io/owner/app@sha256:..., 127.0.0.1:5000/app:1" },
  mirror: { type: "string", valueHint: "URL", description: "Pull alpine:TAG from this Alpine mirror instead of a registry (also env BOX_ALPINE_MIRROR)" },
  timeout: { type: "string", valueHint: "SECONDS", description: "Give up when the server sends nothing for this long (default 30; env BOX_PULL_TIMEOUT)" },
  "insecure-registry": { type: "string", valueHint: "HOST[:PORT]", description: "Talk plain http to this registry (repeatable; env BOX_INSECURE_REGISTRIES; loopback registries always)" },
  quiet: { type: "boolean", alias: "q", description: "No progress, only the image ID" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "pull", description: "Pull an image from a registry (or an Alpine release from a mirror)" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "pull", repeatable: ["insecure-registry"] });
  if (!line) return 0;
  if (line.words.length !== 1) throw new BoxError(`box pull takes one image: box pull [REGISTRY/]NAME[:TAG|@DIGEST]. See 'box pull --help'.`);
  const word = line.words[0]!;
  const ref = parseReference(word);
  if (!ref) throw new BoxError(`invalid image reference "${word}": use [REGISTRY/]NAME[:TAG|@DIGEST], with lower-case names`);
  const mirror = (line.options.mirror as string | undefined) ?? process.env.BOX_ALPINE_MIRROR;
  const timeout = line.options.timeout as string | undefined;
  const layout = storeFor("pull", line, globals);
  collectStaleScratch(layout);
  if (mirror !== undefined) {
    const { pullAlpine, pullOptions } = await import("../image/alpine-images");
    const { image } = await pullAlpine(layout, parseRef(word)!, pullOptions(mirror, timeout));
    out(`${image.record.id}\n`);
    return 0;
  }
  const { pullImage, registryOptions } = await import("../image/registry/pull");
  const opts = registryOptions({ timeout, insecure: (line.options["insecure-registry"] as string[] | undefined) ?? [], quiet: line.options.quiet === true });
  const id = await pullImage(layout, ref, opts);
  if (line.options.quiet !== true) logger.info(`pulled ${familiar(fullName(ref))} (${id.slice(0, 19)})`);
  out(`${id}\n`);
  return 0;
}
