/** box-runc kill: a signal (default SIGTERM) to the container's process, or with --all to every
 * process of its cgroup. A created container can be signalled too (it is then stopped). */
import { constants as os } from "node:os";
import { BoxError } from "../../errors";
import { on, words } from "../flags";
import { signalAll, signalNumber, signalProcess, thaw } from "../lifecycle";
import type { Command } from "../main";

const command: Command = {
  usage: "[command options] <container-id> [signal]",
  summary: "send a signal to the container's process",
  flags: [{ name: "all", short: "a", kind: "bool", help: "to every process of the container" }],
  async run(p, ctx) {
    const [id, sigText] = words(p, "kill", 1, 2, "<container-id> [signal]");
    const sig = signalNumber(sigText ?? "SIGTERM");
    const s = ctx.store.read(id!);
    const { status } = ctx.store.status(s);
    if (status === "stopped" || status === "creating") throw new BoxError("container not running", 1);
    if (on(p, "all")) {
      signalAll(s, sig);
      if (sig === os.signals.SIGKILL) thaw(s);
      return 0;
    }
    const proc = ctx.store.process(id!);
    if (!proc || !signalProcess(proc.pid, proc.start, sig)) throw new BoxError("container not running", 1);
    return 0;
  },
};
export default command;
