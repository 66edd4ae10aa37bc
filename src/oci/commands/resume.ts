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
    return ctx.store.locked(id!, async (s, { status }) => {
      if (status !== "paused") throw new BoxError("container not paused", 1);
      await setFrozen(s, false);
      return 0;
    });
  },
};
export default command;
