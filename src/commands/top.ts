import { defineCommand, type ArgsDef } from "citty";
import { readFileSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { containerPids } from "../container/stats";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { resolveContainer } from "../store/containers";
import { asDaemon, DAEMON_ERROR, parseOrHelp, printTable, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  options: { type: "positional", required: false, valueHint: "[ps OPTIONS]", description: "Options for the host's ps (its rows are then those of the container's processes)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "top", description: "Show the processes running in a container" }, args });

const HZ = 100;

function users(): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const l of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = l.split(":");
      if (f.length > 3) out.set(Number(f[2]), f[0]!);
    }
  } catch {
    /* numbers then */
  }
  return out;
}

/** `ps -ef` of the container's processes, read from /proc: UID PID PPID C STIME TTY TIME CMD. */
function psEf(pids: number[]): string[][] {
  const names = users();
  const boot = Date.now() / 1000 - Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const rows = [["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      const tty = Number(f[4]);
      const cpu = Math.floor((Number(f[11]) + Number(f[12])) / HZ);
      const started = new Date((boot + Number(f[19]) / HZ) * 1000);
      const hhmm = `${String(started.getHours()).padStart(2, "0")}:${String(started.getMinutes()).padStart(2, "0")}`;
      const time = [Math.floor(cpu / 3600), Math.floor(cpu / 60) % 60, cpu % 60].map((n) => String(n).padStart(2, "0")).join(":");
      const ttyName = tty === 0 ? "?" : (tty >> 8) === 136 ? `pts/${(tty & 0xff) | ((tty >> 12) & 0xfff00)}` : "?";
      rows.push([names.get(uid) ?? String(uid), String(pid), f[1]!, "0", hhmm, ttyName, time, cmdline || `[${comm}]`]);
    } catch {
      /* ended meanwhile */
    }
  }
  return rows;
}

/** The host's ps with the options given, keeping its header and the rows of the container's pids. */
async function hostPs(options: string[], pids: number[]): Promise<string> {
  let proc;
  try {
    proc = Bun.spawn(["ps", ...options], { stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new BoxError("box top with ps options needs ps on the host (procps)");
  }
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new BoxError(`ps ${options.join(" ")} failed: ${err.trim().split("\n")[0] ?? `status ${code}`}`, DAEMON_ERROR);
  const [header = "", ...lines] = out.split("\n").filter(Boolean);
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new BoxError(`ps ${options.join(" ")} shows no PID column: box top cannot tell the container's processes`, DAEMON_ERROR);
  const wanted = new Set(pids.map(String));
  return [header, ...lines.filter((l) => wanted.has(l.trim().split(/\s+/)[col] ?? ""))].join("\n") + "\n";
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "top", stopAtFirstWord: true });
  if (!line) return 0;
  const [word, ...psOptions] = line.words;
  if (word === undefined) throw new BoxError("box top needs a container. See 'box top --help'.");
  const layout = storeFor("top", line, globals);
  const c = await asDaemon(() => resolveContainer(layout, word));
  if (!isBusy(layout, c.id) || c.cgroups.length === 0) throw new BoxError(`container ${word} is not running`, DAEMON_ERROR);
  const pids = containerPids(c.cgroups);
  if (psOptions.length > 0) out(await hostPs(psOptions, pids));
  else printTable(psEf(pids));
  return 0;
}
