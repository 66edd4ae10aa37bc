/** box-runc state: the runtime spec's state document of a container. */
import { words } from "../flags";
import type { Command } from "../main";
import { stateDocument } from "../state";
import { out } from "../../sys/out";

const command: Command = {
  usage: "<container-id>",
  summary: "the runtime spec's state of a container, as JSON",
  flags: [],
  async run(p, ctx) {
    const [id] = words(p, "state", 1);
    const s = ctx.store.read(id!);
    const { status, pid } = ctx.store.status(s);
    out(JSON.stringify(stateDocument(s, status, pid), null, 2) + "\n");
    return 0;
  },
};
export default command;
