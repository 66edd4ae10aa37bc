import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { exitInfo, live, statusOf } from "../container/state";
import { BoxError } from "../errors";
import { listContainers, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { duration, parseOrHelp, printTable, storeFor, warnDamaged } from "./common";

const args = {
  all: { type: "boolean", alias: "a", description: "Show every container, not only running ones" },
  quiet: { type: "boolean", alias: "q", description: "Only the ids" },
  format: { type: "string", valueHint: "table|json", description: "Output format (default table)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "ps", description: "List containers" }, args });

export function describe(layout: Layout, c: ContainerRecord) {
  const status = statusOf(layout, c);
  const exit = exitInfo(layout, c.id);
  const running = status === "running" ? live(layout, c.id) : undefined;
  const age = Date.now() - Date.parse(c.startedAt ?? c.created);
  let text: string;
  if (status === "running") text = `Up ${duration(age)}`;
  else if (status === "exited" && exit) text = `Exited (${exit.status}) ${duration(Date.now() - exit.finished.getTime())} ago`;
  else if (status === "created") text = "Created";
  else text = "Dead";
  return {
    id: c.id,
    name: c.name ?? "",
    image: c.image,
    command: c.argv.join(" "),
    created: c.created,
    status,
    statusText: text,
    pid: running?.init ?? 0,
    exitCode: exit?.status,
    oomKilled: exit?.oomKilled ?? false,
    finished: exit?.finished.toISOString(),
  };
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "ps" });
  if (!line) return 0;
  const format = (line.options.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw new BoxError(`unknown format "${format.slice(0, 64)}": use table or json`);
  if (line.words.length > 0) throw new BoxError("box ps takes no arguments. See 'box ps --help'.");
  const layout = storeFor("ps", line, globals);
  const rows = listContainers(layout)
    .flatMap((l) => {
      if ("record" in l) return [describe(layout, l.record)];
      warnDamaged(l.damaged);
      return [];
    })
    .filter((r) => line.options.all === true || r.status === "running");
  if (line.options.quiet === true) {
    if (rows.length) process.stdout.write(rows.map((r) => shortId(r.id)).join("\n") + "\n");
    return 0;
  }
  if (format === "json") {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  const table = [
    ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PID", "NAMES"],
    ...rows.map((r) => [shortId(r.id), r.image, `"${cut(r.command, 20)}"`, `${duration(Date.now() - Date.parse(r.created))} ago`, r.statusText, r.pid ? String(r.pid) : "", r.name]),
  ];
  printTable(table);
  return 0;
}
