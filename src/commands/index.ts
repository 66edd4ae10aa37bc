import type { CommandDef } from "citty";
import type { Globals } from "../cli/shared";

export interface CommandModule {
  definition: CommandDef<any>;
  main(tokens: string[], globals: Globals): Promise<number>;
}

/** Commands by name, loaded on first use so `box run` does not pay for the others. */
export const commands: Record<string, () => Promise<CommandModule>> = {
  run: () => import("./run"),
};

/** One line per command for `box --help`. */
export const summaries: Record<string, string> = {
  run: "Run a command in a new container",
};
