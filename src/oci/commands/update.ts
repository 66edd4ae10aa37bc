/**
 * box-runc update: a running container's limits changed, from --resources FILE (linux.resources
 * as JSON, - for stdin: podman update's way) or from runc's flags. Only what is given changes; the
 * device rules stay those of create.
 */
import { readFileSync } from "node:fs";
import { BoxError } from "../../errors";
import { parseJsonExact } from "../config";
import { str, words, type FlagDef } from "../flags";
import type { Command } from "../main";
import { parseResources, type Resources } from "../resources-config";
import { writeResources } from "../resources";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** A number of bytes: 1048576, 64m, 1g; -1 for no limit. */
export function bytes(text: string, flag: string): number {
  if (text === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new BoxError(`invalid --${flag} "${text}": give bytes, or a size such as 64m`, 1);
  return Math.floor(Number(m[1]) * unit);
}

function whole(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new BoxError(`invalid --${flag} "${text}": give a whole number`, 1);
  return Number(text);
}

const FLAGS: Array<FlagDef & { to: (r: Resources, v: string) => void }> = [
  { name: "memory", kind: "string", help: "memory limit", to: (r, v) => void ((r.memory ??= {}).limit = bytes(v, "memory")) },
  { name: "memory-reservation", kind: "string", help: "memory soft limit", to: (r, v) => void ((r.memory ??= {}).reservation = bytes(v, "memory-reservation")) },
  { name: "memory-swap", kind: "string", help: "memory plus swap limit", to: (r, v) => void ((r.memory ??= {}).swap = bytes(v, "memory-swap")) },
  { name: "pids-limit", kind: "string", help: "most processes", to: (r, v) => void (r.pids = { limit: whole(v, "pids-limit") }) },
  { name: "cpu-share", kind: "string", help: "CPU shares", to: (r, v) => void ((r.cpu ??= {}).shares = whole(v, "cpu-share")) },
  { name: "cpu-period", kind: "string", help: "CFS period (µs)", to: (r, v) => void ((r.cpu ??= {}).period = whole(v, "cpu-period")) },
  { name: "cpu-quota", kind: "string", help: "CFS quota (µs)", to: (r, v) => void ((r.cpu ??= {}).quota = whole(v, "cpu-quota")) },
  { name: "cpu-rt-period", kind: "string", help: "realtime period (µs)", to: (r, v) => void ((r.cpu ??= {}).realtimePeriod = whole(v, "cpu-rt-period")) },
  { name: "cpu-rt-runtime", kind: "string", help: "realtime runtime (µs)", to: (r, v) => void ((r.cpu ??= {}).realtimeRuntime = whole(v, "cpu-rt-runtime")) },
  { name: "cpu-idle", kind: "string", help: "cpu.idle (0 or 1)", to: (r, v) => void ((r.cpu ??= {}).idle = whole(v, "cpu-idle")) },
  { name: "cpuset-cpus", kind: "string", help: "CPUs", to: (r, v) => void ((r.cpu ??= {}).cpus = v) },
  { name: "cpuset-mems", kind: "string", help: "memory nodes", to: (r, v) => void ((r.cpu ??= {}).mems = v) },
  { name: "blkio-weight", kind: "string", help: "block I/O weight (10-1000)", to: (r, v) => void ((r.blockIO ??= {}).weight = whole(v, "blkio-weight")) },
  { name: "kernel-memory", kind: "string", help: "kernel memory limit (v1)", to: (r, v) => void ((r.memory ??= {}).kernel = bytes(v, "kernel-memory")) },
  { name: "kernel-memory-tcp", kind: "string", help: "kernel TCP memory limit (v1)", to: (r, v) => void ((r.memory ??= {}).kernelTCP = bytes(v, "kernel-memory-tcp")) },
];

const command: Command = {
  usage: "[command options] <container-id>",
  summary: "change a container's resources",
  flags: [{ name: "resources", short: "r", kind: "string", value: "FILE", help: "linux.resources as JSON (- for stdin)" }, ...FLAGS],
  async run(p, ctx) {
    const [id] = words(p, "update", 1);
    let r: Resources = {};
    const file = str(p, "resources");
    if (file !== undefined) {
      let text: string;
      try {
        text = readFileSync(file === "-" ? 0 : file, "utf8");
      } catch (err) {
        throw new BoxError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
      }
      let value: unknown;
      try {
        value = parseJsonExact(text);
      } catch {
        throw new BoxError(`${file === "-" ? "the resources on stdin" : file} is not valid JSON`, 1);
      }
      r = parseResources(value, "resources");
    }
    for (const f of FLAGS) {
      const v = str(p, f.name);
      if (v !== undefined) f.to(r, v);
    }
    if (r.devices) throw new BoxError("update cannot change the device rules: they are set by create", 1);
    return ctx.store.locked(id!, (s, { status }) => {
      if (status === "stopped") throw new BoxError("container not running", 1);
      writeResources(s.host, s.cgroups, r);
      return 0;
    });
  },
};
export default command;
