/** box-runc list: the containers of the root, as a table or as JSON (-q: their ids). */
import { readdirSync } from "node:fs";
import { BoxError } from "../../errors";
import { on, str, words } from "../flags";
import type { Command } from "../main";
import { stateDocument } from "../state";
import { out } from "../../sys/out";

const command: Command = {
  usage: "[command options]",
  summary: "the containers",
  flags: [
    { name: "format", short: "f", kind: "string", value: "table|json", help: "the output's format" },
    { name: "quiet", short: "q", kind: "bool", help: "only the ids" },
  ],
  async run(p, ctx) {
    words(p, "list", 0, 0, "no argument");
    const format = str(p, "format") ?? "table";
    if (format !== "table" && format !== "json") throw new BoxError(`invalid format "${format}": give table or json`, 1);
    let ids: string[] = [];
    try {
      ids = readdirSync(ctx.store.root).sort();
    } catch {
      /* no root yet: no containers */
    }
    const docs = ids.flatMap((id) => {
      try {
        const s = ctx.store.read(id);
        const { status, pid } = ctx.store.status(s);
        return [stateDocument(s, status, pid)];
      } catch {
        return [];
      }
    });
    if (on(p, "quiet")) out(docs.map((d) => `${d.id}\n`).join(""));
    else if (format === "json") out(JSON.stringify(docs) + "\n");
    else {
      const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...docs.map((d) => [d.id, d.pid, d.status, d.bundle, d.created, "root"].map(String))];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      out(rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]! + 2) : c)).join("") + "\n").join(""));
    }
    return 0;
  },
};
export default command;
