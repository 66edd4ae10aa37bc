/** box-runc run: create and start; in the foreground box's helper supervises the container and
 * removes it when it ends (unless --keep); with -d it returns once the command runs. */
import { createContainer } from "../create";
import { on } from "../flags";
import type { Command } from "../main";
import { CREATE_FLAGS, createOptions } from "./create";

const command: Command = {
  usage: "[command options] <container-id>",
  summary: "create and run a container",
  flags: [
    ...CREATE_FLAGS,
    { name: "detach", short: "d", kind: "bool", help: "return once the command runs" },
    { name: "keep", kind: "bool", help: "keep the container's state when it ends (delete removes it)" },
  ],
  async run(p, ctx) {
    return createContainer(ctx.store, { ...createOptions(p, "run"), mode: on(p, "detach") ? "run-detached" : "run", keep: on(p, "keep") });
  },
};
export default command;
