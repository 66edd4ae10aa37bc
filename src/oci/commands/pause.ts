/** box-runc pause: every process of the container frozen (v1 freezer.state, v2 cgroup.freeze). */
import { BoxError } from "../../errors";
import { words } from "../flags";
import { setFrozen } from "../freezer";
import type { Command } from "../main";

const command: Command = {
  usage: "<container-id>",
  summary: "freeze every process of a container",
  flags: [],
  async run(p, ctx) {
    const [id] = words(p, "pause", 1);
    const lock = await ctx.store.lock(id!);
    try {
      const s = ctx.store.read(id!);
      const { status } = ctx.store.status(s);
      if (status !== "running") throw new BoxError(status === "paused" ? "container is already paused" : "container not running", 1);
      await setFrozen(s, true);
      return 0;
    } finally {
      lock.release();
    }
  },
};
export default command;
