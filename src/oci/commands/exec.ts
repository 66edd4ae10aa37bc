/**
 * box-runc exec: a process in a running container, from --process FILE (a config.json process, as
 * podman and conmon give it) or from the container's own process with the words and flags given.
 * The helper joins the container's namespaces, root and cgroups through its process, pinned by
 * pid and start time, confines itself as the process says (capped by what box holds), and starts
 * the command; with --detach it returns once the command runs, leaving it to box-runc's caller.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BoxError } from "../../errors";
import { encodePlan, type PlanRecord } from "../../spec/plan";
import { parseJsonExact, parseProcess, type OciProcess } from "../config";
import { list, on, str, words } from "../flags";
import { log, warn } from "../log";
import type { Command } from "../main";
import { heldCapabilities, processRecords } from "../process";
import { refusePreservedFds } from "./create";

function processFrom(file: string): OciProcess {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (err) {
    throw new BoxError(`cannot read the process file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
  }
  try {
    return parseProcess(parseJsonExact(text), "process");
  } catch (err) {
    if (err instanceof BoxError) throw new BoxError(err.message.replace(/^config\.json: /, `${file}: `), 1);
    throw new BoxError(`${file} is not valid JSON`, 1);
  }
}

function userOf(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new BoxError(`invalid --user "${text}": give UID[:GID] as numbers`, 1);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

const command: Command = {
  usage: "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
  summary: "run a process in a running container",
  flags: [
    { name: "process", short: "p", kind: "string", value: "FILE", help: "the process, as config.json's process (- for stdin)" },
    { name: "detach", short: "d", kind: "bool", help: "return once the command runs" },
    { name: "pid-file", kind: "string", value: "FILE", help: "write the process's pid there" },
    { name: "console-socket", kind: "string", value: "PATH", help: "a unix socket that receives the terminal's master" },
    { name: "tty", short: "t", kind: "bool", help: "a terminal for the process" },
    { name: "cwd", kind: "string", value: "DIR", help: "its working directory" },
    { name: "env", short: "e", kind: "list", value: "KEY=VALUE", help: "add to its environment" },
    { name: "user", short: "u", kind: "string", value: "UID[:GID]", help: "its user" },
    { name: "additional-gids", short: "g", kind: "list", value: "GID", help: "its additional groups" },
    { name: "cap", short: "c", kind: "list", value: "CAP", help: "add a capability" },
    { name: "no-new-privs", kind: "bool", help: "set no_new_privs" },
    { name: "preserve-fds", kind: "string", value: "N", help: "only 0" },
    { name: "process-label", kind: "string", value: "LABEL", help: "refused: box applies no SELinux labels" },
    { name: "apparmor", kind: "string", value: "PROFILE", help: "refused: box applies no AppArmor profiles" },
    { name: "cgroup", kind: "string", value: "PATH", help: "refused: the process joins the container's cgroups" },
    { name: "ignore-paused", kind: "bool", help: "allow exec in a paused container" },
  ],
  async run(p, ctx) {
    refusePreservedFds(str(p, "preserve-fds"));
    for (const f of ["process-label", "apparmor", "cgroup"]) if (str(p, f)) throw new BoxError(`--${f} is not supported by box`, 1);
    const file = str(p, "process");
    const [id, ...args] = file ? words(p, "exec", 1) : words(p, "exec", 2, Infinity, "<container-id> <command>");
    const s = ctx.store.read(id!);
    const { status } = ctx.store.status(s);
    if (status === "paused" && !on(p, "ignore-paused")) throw new BoxError("cannot exec in a paused container (use --ignore-paused to override)", 1);
    if (status !== "running" && status !== "created" && status !== "paused") throw new BoxError("cannot exec in a stopped container", 1);
    const init = ctx.store.process(id!)!;

    let proc: OciProcess;
    if (file) proc = processFrom(file);
    else {
      const base = s.process;
      if (!base) throw new BoxError("the container has no process to start from: give --process", 1);
      const caps = list(p, "cap").map((c) => (c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`));
      const add = (set?: string[]) => [...new Set([...(set ?? []), ...caps])];
      proc = {
        ...base,
        args,
        terminal: on(p, "tty"),
        env: [...(base.env ?? []), ...list(p, "env")],
        cwd: str(p, "cwd") ?? base.cwd,
        user: str(p, "user") ? { ...userOf(str(p, "user")!), additionalGids: list(p, "additional-gids").map(Number) } : base.user,
        noNewPrivileges: base.noNewPrivileges || on(p, "no-new-privs"),
        capabilities: caps.length > 0 ? { bounding: add(base.capabilities?.bounding), effective: add(base.capabilities?.effective), permitted: add(base.capabilities?.permitted), inheritable: base.capabilities?.inheritable, ambient: base.capabilities?.ambient } : base.capabilities,
      };
    }
    const detach = on(p, "detach");
    const socket = str(p, "console-socket");
    if (proc.terminal && detach && !socket) throw new BoxError("cannot allocate tty if box-runc will detach without setting console socket", 1);
    if (!proc.terminal && socket) throw new BoxError("cannot use console socket if the process does not have a terminal", 1);

    const records: PlanRecord[] = [
      ["join", String(init.pid), init.start],
      ...processRecords(proc, file ? "process" : "the container's process", { seccomp: s.seccomp, keyring: !s.noNewKeyring, held: heldCapabilities(), warn }),
      ...s.cgroups.dirs.map((d): PlanRecord => ["cgroup", `${d}/cgroup.procs`]),
    ];
    const pidFile = str(p, "pid-file");
    if (pidFile) records.push(["oci_pidfile", resolve(pidFile)]);
    if (socket && proc.terminal) {
      records.push(["console_socket", resolve(socket)]);
      if (proc.consoleSize) records.push(["console_size", String(proc.consoleSize.height), String(proc.consoleSize.width)]);
    }
    if (detach) records.push(["handoff"]);
    records.push(["report_format", log.format, log.file ?? ""]);
    const { becomeHelper } = await import("../../helper");
    return becomeHelper(encodePlan(records), { lib: ctx.store.root });
  },
};
export default command;
