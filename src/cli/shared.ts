import type { ArgsDef } from "citty";

/** Options every command accepts (before or after the command name). */
export const globalArgs = {
  root: {
    type: "string",
    valueHint: "DIR",
    description: "Where box keeps all its state (default /var/lib/box and /run/box; env BOX_ROOT)",
  },
} as const satisfies ArgsDef;

export interface Globals {
  root?: string;
}
