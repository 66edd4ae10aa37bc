import { defineCommand, type ArgsDef } from "citty";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatListing } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { containerDir, listContainers } from "../store/containers";
import type { Layout } from "../store/layout";
import { parseOrHelp, storeFor } from "./common";
import { dirSize, humanSize } from "./container-rows";
import { imageOf, listImages, pruneUnusedImages } from "./image-access";
import { confirm, pruneContainers, reportPruned, reportTotal } from "./prune";
import { selfCommand } from "./start";
import { out } from "../sys/out";

const args = {
  action: { type: "positional", required: true, valueHint: "df|prune|info", description: "df: disk use; prune: remove what is unused; info: as box info" },
  all: { type: "boolean", alias: "a", description: "prune: also every image no container uses" },
  force: { type: "boolean", alias: "f", description: "prune: do not ask" },
  format: { type: "string", valueHint: "TEMPLATE", description: "df: table (default), json or a Go template" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "system", description: "Manage box's store (df, prune, info)" }, args });

function df(layout: Layout, format: string | undefined): void {
  const images = listImages(layout);
  const containers = listContainers(layout);
  const used = new Set(containers.flatMap((l) => ("record" in l ? [imageOf(layout, l.record.imageId)] : [])));
  const imageSize = images.reduce((n, i) => n + i.size, 0);
  const unusedImages = images.filter((i) => !used.has(i.id)).reduce((n, i) => n + i.size, 0);
  const sized = containers.map((l) => ({ running: isBusy(layout, l.id), size: dirSize(join(containerDir(layout, l.id), "upper")) }));
  const containerSize = sized.reduce((n, c) => n + c.size, 0);
  const stopped = sized.filter((c) => !c.running).reduce((n, c) => n + c.size, 0);
  const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : "");
  const rows = [
    { Type: "Images", TotalCount: String(images.length), Active: String(images.filter((i) => used.has(i.id)).length), Size: humanSize(imageSize), Reclaimable: `${humanSize(unusedImages)}${pct(unusedImages, imageSize)}` },
    { Type: "Containers", TotalCount: String(containers.length), Active: String(sized.filter((c) => c.running).length), Size: humanSize(containerSize), Reclaimable: `${humanSize(stopped)}${pct(stopped, containerSize)}` },
    { Type: "Local Volumes", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B" },
    { Type: "Build Cache", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B" },
  ];
  const headers = { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" };
  out(formatListing({ headers, table: "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}" }, rows, format));
}

async function prune(layout: Layout, all: boolean, force: boolean, root: string | undefined): Promise<number> {
  if (!force) {
    const what = ["all stopped containers", "box's bridge, if no container uses it", all ? "all images without at least one container associated to them" : "all dangling images"];
    if (!confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join("")}\nAre you sure you want to continue?`)) return 0;
  }
  const containers = pruneContainers(layout);
  reportPruned("Containers", containers);
  // The bridge goes through box network prune, in a process of its own (it ends in the helper),
  // and only when this store made it (a store that never used the bridge leaves the host's alone).
  const { BRIDGE, bridgeExists } = await import("../net/bridge");
  if (existsSync(join(layout.lib, "network", `${BRIDGE}.json`)) && bridgeExists()) {
    const child = Bun.spawn([...selfCommand(), ...(root !== undefined ? ["--root", root] : []), "network", "prune"], { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
    if ((await child.exited) === 0) out("Deleted Networks:\nbox0\n\n");
  }
  const images = all ? await pruneUnusedImages(layout) : { lines: [], bytes: 0 };
  // docker's words here are lower-case: "untagged: alpine:latest", "deleted: sha256:...".
  if (images.lines.length > 0) out(`Deleted Images:\n${images.lines.map((l) => l[0]!.toLowerCase() + l.slice(1)).join("\n")}\n\n`);
  reportTotal(containers.bytes + images.bytes);
  return 0;
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "system" });
  if (!line) return 0;
  const [action, ...rest] = line.words;
  if (action === "info") return (await import("./info")).main([...rest, ...(line.options.format !== undefined ? ["--format", line.options.format as string] : [])], { ...globals, root: (line.options.root as string | undefined) ?? globals.root });
  if (rest.length > 0 || (action !== "df" && action !== "prune")) throw new BoxError("box system takes one action: df, prune or info. See 'box system --help'.");
  const layout = storeFor(`system ${action}`, line, globals);
  if (action === "df") {
    df(layout, line.options.format as string | undefined);
    return 0;
  }
  return prune(layout, line.options.all === true, line.options.force === true, (line.options.root as string | undefined) ?? globals.root);
}
