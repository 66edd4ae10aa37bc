/**
 * A running container's console, as its supervisor offers it (helper/console.c documents the
 * protocol): every detached container, and every one with a terminal, has one at
 * <run>/<id>.attach. The process that attaches holds the user's terminal; it is box's helper in
 * attach mode (helper/attach.c), never Bun and never the supervisor.
 */
import { attachRecords, encodePlan } from "../spec/plan";
import { attachPath } from "../store/containers";
import type { Layout } from "../store/layout";

/** docker's default detach keys: Ctrl-P Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = [0x10, 0x11];


export interface AttachOptions {
  /** The detach sequence (default Ctrl-P Ctrl-Q). */
  detachKeys?: number[];
  /** box's stdin goes to the command (it must have been started with -i for it to read it). */
  stdin: boolean;
  /** Signals box receives go to the command (docker's --sig-proxy; without a tty). */
  sigProxy: boolean;
}

/**
 * box attach: this process becomes a client of the container's console and ends with the
 * container's status, or 0 when the user detached. Never returns.
 */
export async function attachTo(layout: Layout, id: string, opts: AttachOptions): Promise<never> {
  const plan = encodePlan(attachRecords(attachPath(layout, id), { detachKeys: opts.detachKeys ?? DEFAULT_DETACH_KEYS, stdin: opts.stdin, sigProxy: opts.sigProxy }));
  const { becomeHelper } = await import("../helper");
  return becomeHelper(plan, layout);
}
