/** stop and kill: signals to a running container, through pidfds (src/container/state.ts). */
import { constants } from "node:os";
import { BoxError } from "../errors";
import type { Layout } from "../store/layout";
import { isBusy, signalContainer } from "./state";

/** Signals the supervisor passes on to the command; the others go to the container's init itself. */
const FORWARDED = new Set(["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH"]);

export function signalName(text: string): string {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(text));
    if (name) return name;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    if (name in signals) return name;
  }
  throw new BoxError(`invalid signal "${text.slice(0, 32)}"`);
}

function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name]!;
}

/** Sends a signal by name; false when the container does not run. */
export function killContainer(layout: Layout, id: string, sig: string): boolean {
  return signalContainer(layout, id, signalNumber(sig), FORWARDED.has(sig) ? "supervisor" : "init");
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** SIGTERM to the command (its supervisor forwards it), SIGKILL to its init after the grace period;
 * returns once the supervisor has recorded the end, cleaned up and let go of the container. */
export async function stopContainer(layout: Layout, id: string, graceMs: number, sig = "SIGTERM"): Promise<void> {
  if (!killContainer(layout, id, sig)) return;
  if (!(await until(() => !isBusy(layout, id), graceMs))) killContainer(layout, id, "SIGKILL");
  await until(() => !isBusy(layout, id), 10_000);
}
