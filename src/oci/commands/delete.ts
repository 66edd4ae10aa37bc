/** box-runc delete: a stopped (or created) container goes with everything it had; --force kills
 * a running one first. A container that does not exist is an error, but not with --force. */
import { BoxError } from "../../errors";
import { on, words } from "../flags";
import { rmSync } from "node:fs";
import { destroy } from "../lifecycle";
import { warn } from "../log";
import type { Command } from "../main";

const command: Command = {
  usage: "[command options] <container-id>",
  summary: "delete a container",
  flags: [{ name: "force", short: "f", kind: "bool", help: "kill a running container first" }],
  async run(p, ctx) {
    const [id] = words(p, "delete", 1);
    const force = on(p, "force");
    if (!ctx.store.exists(id!)) {
      if (force) return 0;
      throw new BoxError("container does not exist", 1);
    }
    const lock = await ctx.store.lock(id!);
    try {
      let s;
      try {
        s = ctx.store.read(id!);
      } catch (err) {
        // A state that cannot be read (a create killed before it wrote it, a damaged file): with
        // --force its directory goes, and what it names cannot be known.
        if (!force) throw err;
        warn(`${(err as Error).message}: its directory is removed, its cgroups and processes (if any) are not known`);
        rmSync(ctx.store.dir(id!), { recursive: true, force: true });
        return 0;
      }
      const { status } = ctx.store.status(s);
      if (status !== "stopped" && !force) {
        throw new BoxError(`cannot delete container ${id} that is not stopped: ${status}`, 1);
      }
      await destroy(ctx.store, s);
      return 0;
    } finally {
      lock.release();
    }
  },
};
export default command;
