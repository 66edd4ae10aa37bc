/** box-runc resume: a paused container's processes thawed. */
import { BoxError } from "../../errors";
import { words } from "../flags";
import { setFrozen } from "../freezer";
import type { Command } from "../main";

const command: Command = {
  usage: "<container-id>",
  summary: "thaw a paused container",
  flags: [],
  async run(p, ctx) {
    const [id] = words(p, "resume", 1);
    const lock = await ctx.store.lock(id!);
    try {
      const s = ctx.store.read(id!);
      const { status } = ctx.store.status(s);
      if (status !== "paused") throw new BoxError("container not paused", 1);
      await setFrozen(s, false);
      return 0;
    } finally {
      lock.release();
    }
  },
};
export default command;
