/** What box --help says of each command (src/commands/index.ts has the commands themselves). */

/** Commands reached through another (box container prune): not listed in box --help. */
export const hidden = new Set(["container-prune", "__unpack"]);

/** One line per command for `box --help`. */
export const summaries: Record<string, string> = {
  run: "Run a command in a new container",
  create: "Create a container without starting it",
  start: "Start created or stopped containers",
  stop: "Stop running containers (SIGTERM, then SIGKILL)",
  restart: "Stop containers and start them again",
  kill: "Send a signal to running containers",
  rm: "Remove containers",
  ps: "List containers",
  exec: "Run a command in a running container",
  attach: "Attach box's terminal to a running container",
  logs: "Print the output of a detached container",
  wait: "Wait for containers to end and print their exit codes",
  top: "Show the processes running in a container",
  stats: "Show containers' resource use, live",
  rename: "Rename a container",
  port: "List a container's published ports",
  inspect: "Print containers and images as JSON documents",
  pull: "Pull an image from a registry (or an Alpine release from a mirror)",
  import: "Import a root filesystem tarball as an image",
  images: "List the images in the store",
  rmi: "Remove images from the store",
  load: "Load images from an archive (docker save, podman save, OCI)",
  save: "Save images to an archive that docker load, podman load and skopeo read",
  login: "Log in to a registry (credentials kept in box's store, mode 0600)",
  logout: "Forget the credentials box login kept for a registry",
  container: "Manage containers (docker's container group)",
  image: "Manage images (inspect, ls, rm, pull, load, save, import, prune)",
  network: "Manage box's bridge network (prune)",
  system: "Show disk use (df), remove what is unused (prune)",
  info: "Show what box runs on and what its store holds",
  version: "Show box's version",
  completion: "Print a shell completion script (bash, zsh, fish)",
};
