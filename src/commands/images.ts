import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { hexOf } from "../image/digest";
import { humanDuration, humanSize } from "../human";
import { familiar, parseReference, repoName, splitTag } from "../image/reference";
import { imageProblem, imageSize, listImageIds, loadImage, openStore, peekStore, readImageConfig, readRecord } from "../image/store";
import { listRefs } from "../image/store/refs";
import { layoutFor } from "../store/layout";
import { parseOrHelp, printTable } from "./common";
import { out } from "../sys/out";

const args = {
  reference: { type: "positional", required: false, valueHint: "[REPOSITORY[:TAG]]", description: "Only images of this repository (and tag)" },
  quiet: { type: "boolean", alias: "q", description: "Only image IDs" },
  "no-trunc": { type: "boolean", description: "Full image IDs" },
  format: { type: "string", valueHint: "table|json", description: "table (default), or json: one JSON object per line, as docker's --format json" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "images", description: "List the images in the store" }, args });

interface Row {
  Repository: string;
  Tag: string;
  ID: string;
  Digest: string;
  created: number;
  size: number;
  damaged?: string;
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "images" });
  if (!line) return 0;
  const format = (line.options.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw new BoxError(`unknown format "${format}": use table or json`);
  if (line.words.length > 1) throw new BoxError(`box images takes at most one REPOSITORY[:TAG]. See 'box images --help'.`);
  let filter: { repo: string; tag?: string } | undefined;
  if (line.words[0] !== undefined) {
    const r = parseReference(line.words[0]);
    if (!r || r.digest) throw new BoxError(`invalid reference "${line.words[0]}": give REPOSITORY or REPOSITORY:TAG`);
    filter = { repo: repoName(r), ...(r.tag ? { tag: r.tag } : {}) };
  }
  const layout = layoutFor((line.options.root as string | undefined) ?? globals.root);
  // As root, an older box's store is moved over first; anyone else only reads what is there.
  const p = process.getuid?.() === 0 ? await openStore(layout) : peekStore(layout);
  const noTrunc = line.options["no-trunc"] === true;
  const damagedRefs: string[] = [];
  const refs = listRefs(p, damagedRefs);
  for (const file of damagedRefs) logger.warn(`the name file ${file} is damaged: remove it`);
  const rows: Row[] = [];
  for (const id of listImageIds(p)) {
    const rec = readRecord(p, id);
    const image = loadImage(p, id);
    const config = image?.config ?? readImageConfig(p, id);
    const created = config?.created ? Date.parse(config.created) : NaN;
    const size = image ? imageSize(image) : 0;
    const damaged = image ? undefined : imageProblem(p, id);
    const shown = noTrunc ? id : hexOf(id).slice(0, 12);
    const names = refs.filter((r) => r.id === id).map((r) => splitTag(r.name));
    const base = { ID: shown, created, size, ...(damaged ? { damaged } : {}) };
    if (names.length > 0) {
      for (const n of names) {
        const digest = rec?.repoDigests.find((d) => d.startsWith(n.repository + "@"));
        rows.push({ Repository: n.repository, Tag: n.tag, Digest: digest ? digest.slice(digest.indexOf("@") + 1) : "<none>", ...base });
      }
    } else if (rec && rec.repoDigests.length > 0) {
      for (const d of rec.repoDigests) rows.push({ Repository: d.slice(0, d.indexOf("@")), Tag: "<none>", Digest: d.slice(d.indexOf("@") + 1), ...base });
    } else rows.push({ Repository: "<none>", Tag: "<none>", Digest: "<none>", ...base });
    if (damaged) logger.warn(`image ${hexOf(id).slice(0, 12)} is damaged (${damaged}): remove it with box rmi ${hexOf(id).slice(0, 12)}`);
  }
  // A packed box (box pack) lists what it carries, and its embedded Alpine, before they are unpacked.
  const { notYetUnpacked } = await import("../image/pack/listing");
  for (const c of notYetUnpacked(p)) {
    const base = { ID: noTrunc ? c.id : hexOf(c.id).slice(0, 12), created: Date.parse(c.created), size: c.size, Digest: "<none>" };
    for (const n of c.names.length ? c.names.map(splitTag) : [{ repository: "<none>", tag: "<none>" }]) rows.push({ Repository: n.repository, Tag: n.tag, ...base });
  }
  const shownRows = rows
    .filter((r) => !filter || (r.Repository === filter.repo && (!filter.tag || r.Tag === filter.tag)))
    .sort((a, b) => (b.created || 0) - (a.created || 0) || a.Repository.localeCompare(b.Repository) || a.Tag.localeCompare(b.Tag, undefined, { numeric: true }));
  if (line.options.quiet === true) {
    const ids = [...new Set(shownRows.map((r) => r.ID))];
    if (ids.length) out(ids.join("\n") + "\n");
    return 0;
  }
  const since = (r: Row) => (Number.isNaN(r.created) ? "N/A" : `${humanDuration(Date.now() - r.created)} ago`);
  const sizeOf = (r: Row) => (r.damaged ? "damaged" : humanSize(r.size));
  if (format === "json") {
    const docs = shownRows.map((r) =>
      JSON.stringify({
        Containers: "N/A",
        CreatedAt: Number.isNaN(r.created) ? "" : new Date(r.created).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC"),
        CreatedSince: since(r),
        Digest: r.Digest,
        ID: r.ID,
        Repository: r.Repository === "<none>" ? r.Repository : familiar(r.Repository),
        SharedSize: "N/A",
        Size: sizeOf(r),
        Tag: r.Tag,
        UniqueSize: "N/A",
        VirtualSize: sizeOf(r),
      }),
    );
    if (docs.length) out(docs.join("\n") + "\n");
    return 0;
  }
  printTable([
    ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
    ...shownRows.map((r) => [r.Repository === "<none>" ? r.Repository : familiar(r.Repository), r.Tag, r.ID, since(r), sizeOf(r)]),
  ]);
  return 0;
}
