import type { CommandDef } from "citty";
import type { Globals } from "../cli/shared";

export interface CommandModule {
  definition: CommandDef<any>;
  main(tokens: string[], globals: Globals): Promise<number>;
  /** A group's subcommands (box container ls -> ps), for completion. */
  aliases?: Record<string, { command: string; prepend?: string[]; description: string }>;
}

export type CommandTable = Record<string, () => Promise<CommandModule>>;

/** Commands by name, loaded on first use so `box run` does not pay for the others. */
export const commands: CommandTable = {
  run: () => import("./run"),
  create: () => import("./create"),
  start: () => import("./start"),
  stop: () => import("./stop"),
  restart: () => import("./restart"),
  kill: () => import("./kill"),
  rm: () => import("./rm"),
  ps: () => import("./ps"),
  exec: () => import("./exec"),
  attach: () => import("./attach"),
  logs: () => import("./logs"),
  wait: () => import("./wait"),
  top: () => import("./top"),
  stats: () => import("./stats"),
  rename: () => import("./rename"),
  port: () => import("./port"),
  inspect: () => import("./inspect"),
  pull: () => import("./pull"),
  import: () => import("./import"),
  images: () => import("./images"),
  rmi: () => import("./rmi"),
  load: () => import("./load"),
  save: () => import("./save"),
  login: () => import("./login"),
  logout: () => import("./logout"),
  container: () => import("./container"),
  image: () => import("./image"),
  network: () => import("./network"),
  system: () => import("./system"),
  info: () => import("./info"),
  version: () => import("./version"),
  completion: () => import("./completion"),
  "container-prune": () => import("./container-prune"),
  pack: () => import("./pack"),
  // Not a command for people: the relay `--explain` starts (src/explain/relay.ts).
  __explain: () => import("./explain-relay"),
  volume: () => import("./volume"),
  cp: () => import("./cp"),
  export: () => import("./export"),
  commit: () => import("./commit"),
  __unpack: () => import("./unpack-worker"),
};

export { hidden, summaries } from "./summaries";
