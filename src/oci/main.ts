/**
 * box's second CLI: runc's, for podman, conmon, CRI-O and containerd's runc shim, which call a
 * runtime by its path with runc's words. box answers it when it is started under a name ending in
 * "runc" (a link box-runc -> box; see src/cli.ts), since those callers pass no extra word.
 *
 *   box-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [OPTIONS] ARGS
 *
 * Errors: one sentence in the requested log format, exit status 1 (3 for an unknown command), as
 * runc. The commands live in src/oci/commands/, loaded on first use.
 */
import { BoxError } from "../errors";
import { VERSION } from "../version";
import { flagHelp, on, parseFlags, str, type FlagDef, type Parsed } from "./flags";
import { log, say } from "./log";
import { DEFAULT_ROOT, OCI_VERSION, Store } from "./state";
import { out } from "../sys/out";

export interface Ctx {
  store: Store;
}

export interface Command {
  usage: string;
  summary: string;
  flags: FlagDef[];
  run(p: Parsed, ctx: Ctx): Promise<number>;
}

const commands: Record<string, () => Promise<{ default: Command }>> = {
  create: () => import("./commands/create"),
  run: () => import("./commands/run"),
  start: () => import("./commands/start"),
  state: () => import("./commands/state"),
  list: () => import("./commands/list"),
  kill: () => import("./commands/kill"),
  delete: () => import("./commands/delete"),
  exec: () => import("./commands/exec"),
  ps: () => import("./commands/ps"),
  pause: () => import("./commands/pause"),
  resume: () => import("./commands/resume"),
  update: () => import("./commands/update"),
  features: () => import("./commands/features"),
  spec: () => import("./commands/spec"),
};

const REFUSED: Record<string, string> = {
  checkpoint: "box does not checkpoint containers (no CRIU)",
  restore: "box does not restore containers (no CRIU)",
  events: "box does not stream container events: read the cgroup files, or poll state",
  init: "box-runc init is runc's internal command: box's containers start through its helper",
};

const GLOBAL: FlagDef[] = [
  { name: "debug", kind: "bool", help: "enable debug logging" },
  { name: "log", kind: "string", value: "FILE", help: "write the log to FILE (appended) as well as the sentence to stderr" },
  { name: "log-format", kind: "string", value: "text|json", help: "the log's format (default text)" },
  { name: "root", kind: "string", value: "DIR", help: `the containers' state (default ${DEFAULT_ROOT})` },
  { name: "systemd-cgroup", kind: "bool", help: "refused: box manages cgroups itself, through cgroupfs" },
  { name: "criu", kind: "string", value: "PATH", help: "refused: box does not checkpoint" },
  { name: "rootless", kind: "string", value: "auto|true|false", help: "true is refused: box-runc runs as root" },
  { name: "help", short: "h", kind: "bool", help: "show help" },
  { name: "version", short: "v", kind: "bool", help: "print the version" },
];

function help(): string {
  return `box-runc: box as an OCI runtime, with runc's command line (podman --runtime, conmon, CRI-O, containerd)

USAGE:
   box-runc [global options] command [command options] [arguments...]

COMMANDS:
   create    create a container from a bundle, held before its command runs
   start     run the command of a created container
   run       create and start a container (-d: and return)
   state     the runtime spec's state of a container, as JSON
   list      the containers (--format json, -q)
   kill      send a signal to the container's process (--all: to all of its processes)
   delete    delete a stopped container (--force: any)
   exec      run a process in a running container
   ps        the processes of a container
   pause     freeze every process of a container
   resume    thaw them
   update    change a container's resources (--resources FILE|-, or flags)
   features  what box-runc supports, as JSON
   spec      write a starter config.json

GLOBAL OPTIONS:
${flagHelp(GLOBAL)}

box answers this command line when it is started under a name ending in "runc" (ln -s box box-runc).
`;
}

function configure(p: Parsed): void {
  const format = str(p, "log-format");
  if (format !== undefined) {
    if (format !== "text" && format !== "json") throw new BoxError(`invalid log format "${format}": give text or json`, 1);
    log.format = format;
  }
  log.file = str(p, "log") || undefined;
  log.debug = on(p, "debug");
  if (on(p, "systemd-cgroup")) throw new BoxError("--systemd-cgroup is not supported: box manages cgroups itself, through cgroupfs (use podman's --cgroup-manager cgroupfs)", 1);
  if (str(p, "criu") !== undefined) throw new BoxError("--criu is not supported: box does not checkpoint containers", 1);
  const rootless = str(p, "rootless");
  if (rootless === "true") throw new BoxError("--rootless true is not supported: box-runc runs as root", 1);
  if (rootless !== undefined && rootless !== "auto" && rootless !== "false") throw new BoxError(`invalid --rootless "${rootless}": give auto, true or false`, 1);
}

export async function runcMain(argv: string[]): Promise<number> {
  try {
    const p = parseFlags(argv, GLOBAL, "box-runc");
    configure(p);
    if (on(p, "version")) {
      out(`box-runc version ${VERSION}\nspec: ${OCI_VERSION}\n`);
      return 0;
    }
    const [name, ...rest] = p.words;
    if (name === undefined || on(p, "help") || name === "help") {
      const target = name === "help" ? rest[0] : undefined;
      if (target && commands[target]) return printCommandHelp(target, (await commands[target]!()).default);
      out(help());
      return 0;
    }
    if (name in REFUSED) throw new BoxError(`"${name}" is not supported: ${REFUSED[name]}`, 1);
    const load = commands[name];
    if (!load) {
      say("error", `No help topic for '${name}'`);
      return 3;
    }
    const cmd = (await load()).default;
    const parsed = parseFlags(rest, [...cmd.flags, { name: "help", short: "h", kind: "bool", help: "show help" }], `box-runc ${name}`);
    if (on(parsed, "help")) return printCommandHelp(name, cmd);
    const root = str(p, "root") || DEFAULT_ROOT;
    return await cmd.run(parsed, { store: new Store(root) });
  } catch (err) {
    if (err instanceof BoxError) {
      say("error", err.message);
      return err.exitCode === 125 ? 1 : err.exitCode;
    }
    say("error", `unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

function printCommandHelp(name: string, cmd: Command): number {
  out(`NAME:\n   box-runc ${name} - ${cmd.summary}\n\nUSAGE:\n   box-runc ${name} ${cmd.usage}\n\nOPTIONS:\n${flagHelp(cmd.flags)}\n`);
  return 0;
}
