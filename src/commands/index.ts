import type { CommandDef } from "citty";
import type { Globals } from "../cli/shared";

export interface CommandModule {
  definition: CommandDef<any>;
  main(tokens: string[], globals: Globals): Promise<number>;
}

/** Commands by name, loaded on first use so `box run` does not pay for the others. */
export const commands: Record<string, () => Promise<CommandModule>> = {
  run: () => import("./run"),
  pull: () => import("./pull"),
  import: () => import("./import"),
  images: () => import("./images"),
  rmi: () => import("./rmi"),
  load: () => import("./load"),
  save: () => import("./save"),
  image: () => import("./image"),
  login: () => import("./login"),
  logout: () => import("./logout"),
  ps: () => import("./ps"),
  exec: () => import("./exec"),
  stop: () => import("./stop"),
  kill: () => import("./kill"),
  rm: () => import("./rm"),
  logs: () => import("./logs"),
  inspect: () => import("./inspect"),
  network: () => import("./network"),
};

/** One line per command for `box --help`. */
export const summaries: Record<string, string> = {
  run: "Run a command in a new container",
  pull: "Pull an image from a registry (or an Alpine release from a mirror)",
  import: "Import a root filesystem tarball as an image",
  images: "List the images in the store",
  rmi: "Remove images from the store",
  load: "Load images from an archive (docker save, podman save, OCI)",
  save: "Save images to an archive that docker load, podman load and skopeo read",
  image: "Manage images (inspect, ls, rm, pull, load, save, import, prune)",
  login: "Log in to a registry (credentials kept in box's store, mode 0600)",
  logout: "Forget the credentials box login kept for a registry",
  ps: "List containers",
  exec: "Run a command in a running container",
  stop: "Stop running containers (SIGTERM, then SIGKILL)",
  kill: "Send a signal to running containers",
  rm: "Remove containers",
  logs: "Print the output of a detached container",
  inspect: "Print a container as one JSON document",
  network: "Manage box's bridge network (prune)",
};
