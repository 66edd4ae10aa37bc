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
    return ctx.store.locked(id!, async (s, { status }) => {
      if (status !== "running") throw new BoxError(status === "paused" ? "container is already paused" : "container not running", 1);
      await setFrozen(s, true);
      return 0;
    });
  },
};
export default command;
