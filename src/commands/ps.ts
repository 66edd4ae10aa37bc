import { defineCommand, type ArgsDef } from "citty";
import { formatListing, parseFilters } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { listContainers, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { parseOrHelp, storeFor, warnDamaged } from "./common";
import { facts, psRow, PS_HEADERS, PS_TABLE, type Facts } from "./container-rows";
import { findImage, imageOf, sizeOf } from "./image-access";
import { out } from "../sys/out";

const args = {
  all: { type: "boolean", alias: "a", description: "Show every container (default: running ones)" },
  filter: { type: "string", alias: "f", valueHint: "KEY=VALUE", description: "Only containers that match: id, name, label, status, ancestor, exited (repeatable)" },
  format: { type: "string", valueHint: "TEMPLATE", description: "table (default), json (one object per line), 'table TEMPLATE' or a Go template like '{{.Names}}'" },
  last: { type: "string", alias: "n", valueHint: "N", description: "The N containers created last (any state)" },
  latest: { type: "boolean", alias: "l", description: "The container created last (any state)" },
  "no-trunc": { type: "boolean", description: "Full ids and commands" },
  quiet: { type: "boolean", alias: "q", description: "Only the container ids" },
  size: { type: "boolean", alias: "s", description: "Show each container's size: its own layer (virtual: with its image)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "ps", description: "List containers" }, args });

const FILTERS = ["id", "name", "label", "status", "ancestor", "exited"] as const;
const STATES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

type Row = { c: ContainerRecord; f: Facts };

function matcher(layout: Layout, filters: Map<string, string[]>): (r: Row) => boolean {
  for (const s of filters.get("status") ?? []) if (!STATES.includes(s)) throw new BoxError(`invalid filter 'status=${s.slice(0, 32)}': use ${STATES.join(", ")}`);
  for (const e of filters.get("exited") ?? []) if (!/^\d{1,3}$/.test(e)) throw new BoxError(`invalid filter 'exited=${e.slice(0, 32)}': give an exit code`);
  const names = (filters.get("name") ?? []).map((n) => {
    try {
      return new RegExp(n);
    } catch {
      throw new BoxError(`invalid filter 'name=${n.slice(0, 32)}': not a regular expression`);
    }
  });
  const ancestors = (filters.get("ancestor") ?? []).map((a) => ({ word: a, id: findImage(layout, a) }));
  const tests: Array<[string, (r: Row, v: string, i: number) => boolean]> = [
    ["id", (r, v) => r.c.id.startsWith(v)],
    ["name", (r, _v, i) => names[i]!.test(r.c.name ?? "")],
    ["label", (r, v) => {
      const labels = r.c.request?.labels ?? {};
      const eq = v.indexOf("=");
      return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
    }],
    ["status", (r, v) => r.f.status === v],
    ["ancestor", (r, _v, i) => {
      const a = ancestors[i]!;
      return r.c.image === a.word || (a.id !== undefined && imageOf(layout, r.c.imageId) === a.id);
    }],
    ["exited", (r, v) => r.f.status === "exited" && r.f.exitCode === Number(v)],
  ];
  return (r) => tests.every(([key, test]) => {
    const values = filters.get(key);
    return !values || values.some((v, i) => test(r, v, i));
  });
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "ps", repeatable: ["filter"] });
  if (!line) return 0;
  const o = line.options;
  if (line.words.length > 0) throw new BoxError("box ps takes no arguments. See 'box ps --help'.");
  const last = o.latest === true ? 1 : o.last !== undefined ? Number(o.last) : -1;
  if (o.last !== undefined && !/^-?\d{1,9}$/.test(o.last as string)) throw new BoxError(`invalid -n "${String(o.last).slice(0, 32)}": give a number of containers`);
  const filters = parseFilters((o.filter as string[] | undefined) ?? [], FILTERS);
  const layout = storeFor("ps", line, globals);
  const match = matcher(layout, filters);
  const all = o.all === true || last > 0 || filters.has("status") || filters.has("exited");
  let rows: Row[] = listContainers(layout)
    .flatMap((l) => {
      if ("record" in l) return [{ c: l.record, f: facts(layout, l.record) }];
      warnDamaged(l.damaged);
      return [];
    })
    .sort((a, b) => Date.parse(b.c.created) - Date.parse(a.c.created) || (a.c.id < b.c.id ? -1 : 1));
  if (last > 0) rows = rows.slice(0, last);
  rows = rows.filter((r) => (all || r.f.status === "running" || r.f.status === "restarting") && match(r));
  const noTrunc = o["no-trunc"] === true;
  if (o.quiet === true) {
    out(rows.map((r) => (noTrunc ? r.c.id : r.c.id.slice(0, 12)) + "\n").join(""));
    return 0;
  }
  const size = o.size === true;
  const shown = rows.map((r) => psRow(layout, r.c, r.f, { noTrunc, size, imageSize: size ? sizeOf(layout, r.c.imageId) : 0 }));
  const format = o.format as string | undefined;
  out(formatListing({ headers: PS_HEADERS, table: size ? `${PS_TABLE}\t{{.Size}}` : PS_TABLE }, shown, format));
  return 0;
}
