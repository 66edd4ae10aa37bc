/**
 * wait: until a container's command has ended, and how it ended. A container that was created and
 * never started is waited for until it is started and ends (as docker's wait). Polls the kernel's
 * word (the container's lock) every 50 ms: box keeps no process of its own that could notify.
 */
import { existsSync } from "node:fs";
import { BoxError } from "../errors";
import { containerDir, readRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { exitInfo, isBusy, statusOf } from "./state";

/** The supervisor's death takes the container with it (SIGKILL): what docker would report then. */
const KILLED = 137;

export async function waitForExit(layout: Layout, id: string, word: string, timeoutMs = Infinity): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (!existsSync(containerDir(layout, id))) throw new BoxError(`container ${word} was removed before its exit status could be read (--rm)`);
    if (!isBusy(layout, id)) {
      let status;
      try {
        status = statusOf(layout, readRecord(layout, id));
      } catch {
        status = undefined;
      }
      const exit = exitInfo(layout, id);
      if (status === "exited" && exit) return exit.status;
      if (status === "dead") return KILLED;
      if (status === undefined && !existsSync(containerDir(layout, id))) continue;
    }
    if (Date.now() > end) throw new BoxError(`container ${word} is still running`);
    await Bun.sleep(50);
  }
}
