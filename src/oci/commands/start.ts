/** box-runc start: the held command of a created container runs; then the poststart hooks. */
import { BoxError } from "../../errors";
import { words } from "../flags";
import { runHooks } from "../hooks";
import { constants as os } from "node:os";
import { release, signalProcess } from "../lifecycle";
import { warn } from "../log";
import type { Command } from "../main";
import { stateDocument } from "../state";

const command: Command = {
  usage: "<container-id>",
  summary: "run the command of a created container",
  flags: [],
  async run(p, ctx) {
    const [id] = words(p, "start", 1);
    return ctx.store.locked(id!, async (s, { status, pid }) => {
      if (status === "stopped") throw new BoxError("cannot start a container that has stopped", 1);
      if (status === "running" || status === "paused") throw new BoxError("cannot start an already running container", 1);
      if (status !== "created") throw new BoxError(`cannot start a container that is ${status}`, 1);
      if (!s.process) {
        // Nothing can run: the held process goes, and the container is stopped (delete removes it).
        const held = ctx.store.process(s.id);
        if (held) signalProcess(held.pid, held.start, os.signals.SIGKILL);
        throw new BoxError("cannot start a container without a process: its config.json has none", 1);
      }
      await release(ctx.store, s);
      try {
        await runHooks("poststart", s.poststart, stateDocument(s, "running", pid));
      } catch (err) {
        warn((err as Error).message);
      }
      return 0;
    });
  },
};
export default command;
