import { onInterrupt } from "../store/interrupt";

/**
 * One undo stack for everything a container's creation did: each step that makes something pushes
 * how to take it back. On an error, or on Ctrl-C/SIGTERM/SIGHUP at any moment, the steps are undone
 * in reverse order, so exactly what was done is undone, and nothing else.
 */
export class Undo {
  private readonly steps: Array<() => void> = [];
  private readonly unregister = onInterrupt(() => this.unwind());

  push(step: () => void): void {
    this.steps.push(step);
  }

  /** Undoes every step, newest first; one that fails does not stop the others. */
  unwind(): void {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        step();
      } catch {
        /* best effort: the collector finds what is left (src/container/collect.ts) */
      }
    }
    this.unregister();
  }

  /** The work succeeded: nothing is undone, and interrupts no longer concern it. */
  commit(): void {
    this.steps.length = 0;
    this.unregister();
  }
}
