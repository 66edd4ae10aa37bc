import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { listRefs, readMeta } from "../image/store";
import { layoutFor } from "../store/layout";
import { parseOrHelp, printTable } from "./common";

const args = {
  format: { type: "string", valueHint: "table|json", description: "Output format (default table)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "images", description: "List the images in the store" }, args });

function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return "less than a minute ago";
  for (const [unit, secs] of [["day", 86400], ["hour", 3600], ["minute", 60]] as const) {
    if (s >= secs) {
      const n = Math.floor(s / secs);
      return `${n} ${unit}${n > 1 ? "s" : ""} ago`;
    }
  }
  return "";
}

function size(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)}MB` : `${(bytes / 1024).toFixed(1)}kB`;
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "images" });
  if (!line) return 0;
  const format = (line.options.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw new BoxError(`unknown format "${format}": use table or json`);
  if (line.words.length > 0) throw new BoxError(`box images takes no arguments. See 'box images --help'.`);
  const layout = layoutFor((line.options.root as string | undefined) ?? globals.root);
  const rows = listRefs(layout)
    .map(({ ref, digest }) => ({ name: ref.name, tag: ref.tag, digest: `sha256:${digest}`, meta: readMeta(layout, digest) }))
    .sort((a, b) => a.name.localeCompare(b.name) || b.tag.localeCompare(a.tag, undefined, { numeric: true }));
  if (format === "json") {
    const out = rows.map((r) => ({ name: r.name, tag: r.tag, digest: r.digest, created: r.meta?.created, size: r.meta?.size, source: r.meta?.source }));
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  const table = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], ...rows.map((r) => [r.name, r.tag, r.digest.slice(7, 19), r.meta ? ago(r.meta.created) : "", r.meta ? size(r.meta.size) : ""])];
  printTable(table);
  return 0;
}
