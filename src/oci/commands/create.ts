/** box-runc create: a container of a bundle, held before its command runs, until start. */
import { BoxError } from "../../errors";
import { createContainer } from "../create";
import { on, str, words, type FlagDef, type Parsed } from "../flags";
import type { Command } from "../main";

export const CREATE_FLAGS: FlagDef[] = [
  { name: "bundle", short: "b", kind: "string", value: "DIR", help: "the bundle: config.json and the root filesystem (default: the current directory)" },
  { name: "console-socket", kind: "string", value: "PATH", help: "a unix socket that receives the terminal's master (process.terminal)" },
  { name: "pid-file", kind: "string", value: "FILE", help: "write the container's pid there" },
  { name: "no-pivot", kind: "bool", help: "accepted for runc's callers; box still pivots into the root" },
  { name: "no-new-keyring", kind: "bool", help: "keep the caller's session keyring" },
  { name: "preserve-fds", kind: "string", value: "N", help: "only 0: box hands no fd but 0, 1 and 2 to the container" },
];

export function refusePreservedFds(value: string | undefined): void {
  if (value !== undefined && value !== "0") throw new BoxError("--preserve-fds is not supported: box hands the container no fd but 0, 1 and 2", 1);
}

/** What create and run read alike: the id and CREATE_FLAGS. */
export function createOptions(p: Parsed, verb: string) {
  const [id] = words(p, verb, 1);
  refusePreservedFds(str(p, "preserve-fds"));
  return { id: id!, bundle: str(p, "bundle"), pidFile: str(p, "pid-file"), consoleSocket: str(p, "console-socket"), noNewKeyring: on(p, "no-new-keyring") };
}

const command: Command = {
  usage: "[command options] <container-id>",
  summary: "create a container from a bundle, held before its command runs",
  flags: CREATE_FLAGS,
  async run(p, ctx) {
    return createContainer(ctx.store, { ...createOptions(p, "create"), mode: "create" });
  },
};
export default command;
