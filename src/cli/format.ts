/**
 * docker's --format for listings (ps, images, stats, ...): the default table, `table TEMPLATE`
 * (a table of the template's columns, with docker's headers), `json` (one JSON object per line,
 * as `{{json .}}`), or any other template, rendered once per row.
 */
import { BoxError } from "../errors";
import { compileTemplate, goString } from "./template";

/** Docker's tabwriter: each column as wide as its widest cell plus 3, at least 10; the last one not padded. */
export function tableText(rows: string[][]): string {
  if (rows.length === 0) return "";
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(10, ...rows.map((r) => (r[i] ?? "").length + 3)));
  return rows.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c)).join("").trimEnd() + "\n").join("");
}

export interface Listing<T> {
  /** Docker's column headers by field name (ID -> CONTAINER ID). */
  headers: Record<string, string>;
  /** The default table: `{{.ID}}\t{{.Image}}...`. */
  table: string;
}

/** The header row of a `table` template: each field replaced by its header. */
function headerDot(headers: Record<string, string>): unknown {
  return new Proxy(
    {},
    {
      has: () => true,
      get: (_t, key) => (typeof key === "string" ? (headers[key] ?? key.toUpperCase()) : undefined),
    },
  );
}

/** The whole output of a listing for --format (undefined: the default table). */
export function formatListing<T>(listing: Listing<T>, rows: readonly T[], format: string | undefined): string {
  const f = format ?? "table";
  if (f === "json") return rows.map((r) => JSON.stringify(r) + "\n").join("");
  if (f === "table" || f.startsWith("table ")) {
    const body = f === "table" ? listing.table : f.slice(6);
    const t = compileTemplate(body.replace(/\\t/g, "\t"));
    const lines = [t.render(headerDot(listing.headers)), ...rows.map((r) => t.render(r))];
    return tableText(lines.map((l) => l.split("\t")));
  }
  const t = compileTemplate(f.replace(/\\t/g, "\t").replace(/\\n/g, "\n"));
  return rows.map((r) => t.render(r) + "\n").join("");
}

/** One document (inspect -f): the template rendered once, with a newline, as docker does. */
export function formatDocument(format: string, doc: unknown): string {
  if (format === "json") return JSON.stringify(doc) + "\n";
  return compileTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n")).render(doc) + "\n";
}

/** --filter key=value, repeatable; keys checked against what the listing knows. */
export function parseFilters(given: readonly string[], known: readonly string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const f of given) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new BoxError(`bad format of filter "${f.slice(0, 64)}": expected name=value`);
    const key = f.slice(0, eq);
    if (!known.includes(key)) throw new BoxError(`invalid filter '${key.slice(0, 32)}': use ${known.join(", ")}`);
    filters.set(key, [...(filters.get(key) ?? []), f.slice(eq + 1)]);
  }
  return filters;
}

export { goString };
