import { groupModule } from "./group";

/** box container SUBCOMMAND: docker's container group, over box's own commands. */
const group = groupModule("container", "Manage containers (ls, run, create, start, stop, rm, inspect, ...)", {
  ls: { command: "ps", description: "List containers" },
  list: { command: "ps", description: "List containers" },
  ps: { command: "ps", description: "List containers" },
  run: { command: "run", description: "Run a command in a new container" },
  create: { command: "create", description: "Create a container" },
  start: { command: "start", description: "Start containers" },
  stop: { command: "stop", description: "Stop running containers" },
  restart: { command: "restart", description: "Restart containers" },
  kill: { command: "kill", description: "Send a signal to running containers" },
  rm: { command: "rm", description: "Remove containers" },
  remove: { command: "rm", description: "Remove containers" },
  exec: { command: "exec", description: "Run a command in a running container" },
  attach: { command: "attach", description: "Attach to a running container" },
  logs: { command: "logs", description: "Print a container's output" },
  inspect: { command: "inspect", prepend: ["--type", "container"], description: "Show containers as JSON documents" },
  wait: { command: "wait", description: "Wait for containers to end" },
  top: { command: "top", description: "Show a container's processes" },
  stats: { command: "stats", description: "Show containers' resource use" },
  rename: { command: "rename", description: "Rename a container" },
  port: { command: "port", description: "List a container's published ports" },
  prune: { command: "container-prune", description: "Remove every container that is not running" },
  cp: { command: "cp", description: "Copy files between a container and the host" },
  export: { command: "export", description: "Write a container's filesystem as a tar archive" },
  commit: { command: "commit", description: "Make an image of a container's changes" },
});

export const { definition, main, aliases } = group;
