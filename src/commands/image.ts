import { defineCommand, type ArgsDef } from "citty";
import { parseLine } from "../cli/argv";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { showCommandHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  command: { type: "positional", required: true, valueHint: "inspect|ls|rm|pull|load|save|import|prune", description: "What to do" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "image", description: "Manage images (inspect, ls, rm, pull, load, save, import, prune)" }, args });

const same: Record<string, () => Promise<{ main(tokens: string[], globals: Globals): Promise<number> }>> = {
  ls: () => import("./images"),
  list: () => import("./images"),
  rm: () => import("./rmi"),
  remove: () => import("./rmi"),
  pull: () => import("./pull"),
  load: () => import("./load"),
  save: () => import("./save"),
  import: () => import("./import"),
};

/** The subcommands, for completion (src/commands/completion.ts). */
export const aliases: Record<string, { command: string; prepend?: string[]; description: string }> = {
  ls: { command: "images", description: "List images" },
  list: { command: "images", description: "List images" },
  rm: { command: "rmi", description: "Remove images" },
  remove: { command: "rmi", description: "Remove images" },
  inspect: { command: "inspect", prepend: ["--type", "image"], description: "Show images as JSON documents" },
  pull: { command: "pull", description: "Pull an image" },
  load: { command: "load", description: "Load images from an archive" },
  save: { command: "save", description: "Save images to an archive" },
  import: { command: "import", description: "Import a root filesystem tarball as an image" },
  prune: { command: "image", description: "Remove images without a name that no container uses" },
};

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = parseLine(args, tokens, { commandName: "image", stopAtFirstWord: true });
  const g = { ...globals, ...(line.options.root !== undefined ? { root: line.options.root as string } : {}) };
  const [sub, ...rest] = line.words;
  if (line.help || sub === undefined) {
    await showCommandHelp(definition);
    return 0;
  }
  const other = same[sub];
  if (other) return (await other()).main(rest, g);
  // inspect is box inspect --type image (docker's documents, -f, several names).
  if (sub === "inspect") return (await import("./inspect")).main(["--type", "image", ...rest], g);
  if (sub === "prune") return prune(rest, g);
  throw new BoxError(`unknown image command "${sub}": use inspect, ls, rm, pull, load, save, import or prune. See 'box image --help'.`);
}

/** box image prune: removes images without a name that no container uses, and what they alone used. */
async function prune(tokens: string[], globals: Globals): Promise<number> {
  const line = parseLine(globalArgs, tokens, { commandName: "image prune" });
  if (line.words.length > 0) throw new BoxError("box image prune takes no arguments.");
  const layout = storeFor("image prune", line, globals);
  const { collectGarbage, openStore } = await import("../image/store");
  const { imagesOfContainers } = await import("./rmi");
  const p = await openStore(layout);
  const gone = await collectGarbage(p, imagesOfContainers(layout, p));
  for (const id of gone.images) out(`Deleted: ${id}\n`);
  return 0;
}
