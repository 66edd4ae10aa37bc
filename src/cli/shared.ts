import type { ArgsDef } from "citty";
import type { CommandTable } from "../commands/index";

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
  /** The command table box dispatched from (groups and completion look commands up in it). */
  commands?: CommandTable;
}
