import { defineCommand, type ArgsDef } from "citty";
import { formatListing } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { cpuPercent, sample, type Sample } from "../container/stats";
import { live } from "../container/state";
import { listContainers, resolveContainer, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { asDaemon, parseOrHelp, storeFor, warnDamaged } from "./common";
import { facts, humanSize } from "./container-rows";
import { out } from "../sys/out";
import { isatty } from "../sys/terminal";

const args = {
  container: { type: "positional", required: false, valueHint: "CONTAINER...", description: "Containers (default: every running one)" },
  all: { type: "boolean", alias: "a", description: "Every container, not only running ones" },
  "no-stream": { type: "boolean", description: "Print one set of figures and end" },
  "no-trunc": { type: "boolean", description: "Full container ids" },
  format: { type: "string", valueHint: "TEMPLATE", description: "table (default), json, 'table TEMPLATE' or a Go template like '{{.Name}} {{.MemUsage}}'" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "stats", description: "Show containers' CPU, memory, network, disk and process figures, live" }, args });

const HEADERS = { Container: "CONTAINER", ID: "CONTAINER ID", Name: "NAME", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS" };
const TABLE = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/** Binary sizes as docker's stats prints memory: four significant digits (1.523MiB). */
function binarySize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

interface Target {
  c: ContainerRecord;
  word: string;
}

function measure(layout: Layout, t: Target): Sample | undefined {
  const l = live(layout, t.c.id);
  return l ? sample(t.c.cgroups, l.init, t.c.request?.network === "host") : undefined;
}

function row(t: Target, a: Sample | undefined, b: Sample | undefined, noTrunc: boolean) {
  const id = noTrunc ? t.c.id : t.c.id.slice(0, 12);
  return {
    BlockIO: b ? `${humanSize(b.blkRead)} / ${humanSize(b.blkWrite)}` : "0B / 0B",
    CPUPerc: `${(a && b ? cpuPercent(a, b) : 0).toFixed(2)}%`,
    Container: t.word,
    ID: id,
    MemPerc: `${(b && b.memLimit > 0 ? (b.memUsage / b.memLimit) * 100 : 0).toFixed(2)}%`,
    MemUsage: b ? `${binarySize(b.memUsage)} / ${binarySize(b.memLimit)}` : "0B / 0B",
    Name: t.c.name ?? "",
    NetIO: b ? `${humanSize(b.netRx)} / ${humanSize(b.netTx)}` : "0B / 0B",
    PIDs: String(b?.pids ?? 0),
  };
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "stats" });
  if (!line) return 0;
  const o = line.options;
  const layout = storeFor("stats", line, globals);
  const named = line.words.length > 0;
  const targets = async (): Promise<Target[]> => {
    if (named) return asDaemon(() => line.words.map((word) => ({ c: resolveContainer(layout, word), word })));
    return listContainers(layout)
      .flatMap((l) => ("record" in l ? [l.record] : (warnDamaged(l.damaged), [])))
      .filter((c) => o.all === true || facts(layout, c).status === "running")
      .map((c) => ({ c, word: c.id.slice(0, 12) }));
  };
  const format = o.format as string | undefined;
  const noTrunc = o["no-trunc"] === true;
  let before = new Map<string, Sample | undefined>();
  for (let round = 0; ; round++) {
    const list = await targets();
    const now = new Map(list.map((t) => [t.c.id, measure(layout, t)]));
    // The CPU figure needs two samples: the first round only takes one, then shows the second.
    if (round === 0) {
      before = now;
      await Bun.sleep(500);
      continue;
    }
    const rows = list.map((t) => row(t, before.get(t.c.id), now.get(t.c.id), noTrunc));
    const text = formatListing({ headers: HEADERS, table: TABLE }, rows, format);
    out(o["no-stream"] !== true && isatty(1) ? `\x1b[2J\x1b[H${text}` : text);
    if (o["no-stream"] === true) return 0;
    before = now;
    await Bun.sleep(1000);
  }
}
