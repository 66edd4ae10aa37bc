import { defineCommand, type ArgsDef } from "citty";
import { join } from "node:path";
import { rawEnv } from "../cli/bytes";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { encodePlan, execRecords } from "../spec/plan";
import { live, resolveContainer } from "../store/containers";
import { parseOrHelp, storeFor } from "./common";
import { checkEnv, checkWorkdir, resolveUser } from "./run";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  command: { type: "positional", required: true, valueHint: "COMMAND [ARG...]", description: "Command to run in it; taken verbatim" },
  interactive: { type: "boolean", alias: "i", description: "Keep stdin open" },
  tty: { type: "boolean", alias: "t", description: "A new pseudo-terminal in the container" },
  env: { type: "string", alias: "e", valueHint: "KEY=VAL", description: "Set an environment variable (repeatable)" },
  workdir: { type: "string", alias: "w", valueHint: "DIR", description: "Working directory (default: the container's)" },
  user: { type: "string", alias: "u", valueHint: "UID[:GID]", description: "User (default: the container's)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "exec", description: "Run a command in a running container" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "exec", stopAtFirstWord: true, repeatable: ["env"] });
  if (!line) return 0;
  const [word, ...command] = line.words;
  if (word === undefined || command.length === 0) throw new BoxError("box exec needs a container and a command. See 'box exec --help'.");
  const o = line.options;
  if (o.workdir !== undefined) checkWorkdir(o.workdir as string);
  const extraEnv = checkEnv((o.env as string[] | undefined) ?? [], rawEnv);
  const layout = storeFor("exec", line, globals);
  const c = resolveContainer(layout, word);
  const l = live(layout, c.id);
  if (!l) throw new BoxError(`container ${word} is not running`);

  const spec = c.spec;
  const root = spec.box.rootfs;
  const etcDir = join(root.kind === "overlay" ? root.lower : root.path, "etc");
  const user = o.user !== undefined ? resolveUser(o.user as string, etcDir) : undefined;
  const tty = o.tty === true;
  // The container's environment, TERM when there is a terminal, HOME of another user, then -e.
  const env = new Map(spec.process.env.filter((e) => !e.startsWith("TERM=")).map((e) => [e.slice(0, e.indexOf("=")), e]));
  if (tty) env.set("TERM", "TERM=xterm");
  if (user) env.set("HOME", `HOME=${user.home}`);
  for (const e of extraEnv) env.set(e.slice(0, e.indexOf("=")), e);
  const proc = {
    ...spec.process,
    args: command,
    env: [...env.values()],
    cwd: (o.workdir as string | undefined) ?? spec.process.cwd,
    user: user ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } : spec.process.user,
    terminal: tty,
    stdin: o.interactive === true,
  };
  const { becomeHelper } = await import("../helper");
  return becomeHelper(encodePlan(execRecords(spec, proc, l.init, c.cgroups.map((d) => join(d, "cgroup.procs")))), layout);
}
