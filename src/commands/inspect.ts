import { defineCommand, type ArgsDef } from "citty";
import { formatDocument } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { logger } from "../logger";
import { BoxError } from "../errors";
import { resolveContainer } from "../store/containers";
import { parseOrHelp, storeFor } from "./common";
import { containerDoc } from "./container-doc";
import { facts } from "./container-rows";
import { configOf, imageDoc } from "./image-access";
import { out } from "../sys/out";

const args = {
  name: { type: "positional", required: true, valueHint: "NAME|ID...", description: "Containers (name, id or unique id prefix) or images (NAME[:TAG] or id)" },
  format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "A Go template for each document, like '{{.State.Pid}}' (json: one line each)" },
  type: { type: "string", valueHint: "container|image", description: "Only look for this kind of object" },
  size: { type: "boolean", alias: "s", description: "Accepted for docker's sake (sizes are in box ps -s)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "inspect", description: "Print containers and images as docker's JSON documents" }, args });

/**
 * box inspect NAME...: docker's documents, as one JSON array (or each through -f). A word is a
 * container first, then an image (as docker looks). Each one not found is said on stderr; the
 * others are still printed, and the exit status is then 1, as docker's.
 */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "inspect" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box inspect needs at least one container or image. See 'box inspect --help'.");
  const type = line.options.type as string | undefined;
  if (type !== undefined && type !== "container" && type !== "image") throw new BoxError(`unknown --type "${type.slice(0, 32)}": use container or image`);
  return inspectWords(line.words, line.options.format as string | undefined, type, storeFor("inspect", line, globals));
}

export function inspectWords(words: readonly string[], format: string | undefined, type: string | undefined, layout: ReturnType<typeof storeFor>): number {
  const docs: unknown[] = [];
  let code = 0;
  for (const word of words) {
    let doc: unknown;
    let containerError: BoxError | undefined;
    if (type !== "image") {
      try {
        const c = resolveContainer(layout, word);
        doc = containerDoc(layout, c, facts(layout, c), configOf(layout, c.imageId));
      } catch (err) {
        if (!(err instanceof BoxError)) throw err;
        containerError = err;
      }
    }
    // A damaged or ambiguous container is said as such; only "no such container" looks at images.
    if (doc === undefined && type !== "container" && (!containerError || containerError.message.startsWith("no such container"))) doc = imageDoc(layout, word);
    if (doc === undefined) {
      const what = type === "container" ? "container" : type === "image" ? "image" : "object";
      logger.error(containerError && !containerError.message.startsWith("no such container") ? containerError.message : `no such ${what}: ${word}`);
      code = 1;
      continue;
    }
    docs.push(doc);
  }
  if (format !== undefined) {
    for (const d of docs) out(formatDocument(format, d));
  } else {
    out(JSON.stringify(docs, null, 4) + "\n");
  }
  return code;
}
