import { BoxError } from "../errors";

/** box's commands change state owned by root (images, mounts, namespaces). */
export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new BoxError(`box ${command} needs root: run it as root or with sudo (rootless containers are not supported yet)`);
  }
}
