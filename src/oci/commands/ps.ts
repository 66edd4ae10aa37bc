/** box-runc ps: the container's processes: their pids as JSON, or the host's ps (its options
 * given after the id, -ef by default) with only the container's lines, as runc shows them. */
import { BoxError } from "../../errors";
import { cgroupPids } from "../cgroups";
import { str, words } from "../flags";
import type { Command } from "../main";
import { out } from "../../sys/out";

const command: Command = {
  usage: "[command options] <container-id> [ps options]",
  summary: "the processes of a container",
  flags: [{ name: "format", short: "f", kind: "string", value: "table|json", help: "the output's format" }],
  async run(p, ctx) {
    const [id, ...psArgs] = words(p, "ps", 1, Infinity, "<container-id> [ps options]");
    const format = str(p, "format") ?? "table";
    if (format !== "table" && format !== "json") throw new BoxError(`invalid format "${format}": give table or json`, 1);
    const s = ctx.store.read(id!);
    const pids = cgroupPids(s.cgroups.dirs).sort((a, b) => a - b);
    if (format === "json") {
      out(JSON.stringify(pids) + "\n");
      return 0;
    }
    let r;
    try {
      r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
    } catch {
      throw new BoxError("ps is not installed on this host: use --format json", 1);
    }
    if (r.exitCode !== 0) throw new BoxError(`ps failed: ${r.stderr.toString().trim().split("\n")[0]}`, 1);
    const lines = r.stdout.toString().split("\n");
    const header = lines[0] ?? "";
    const col = header.trim().split(/\s+/).indexOf("PID");
    if (col < 0) throw new BoxError("ps printed no PID column", 1);
    const wanted = new Set(pids.map(String));
    const rows = lines.slice(1).filter((l) => wanted.has(l.trim().split(/\s+/)[col] ?? ""));
    out([header, ...rows].join("\n") + "\n");
    return 0;
  },
};
export default command;
