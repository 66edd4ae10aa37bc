/** What this kernel offers a container's namespaces, checked where it matters. */
import { existsSync } from "node:fs";
import { release } from "node:os";

/** Time namespaces (Linux 5.6). */
export function haveTimeNamespaces(): boolean {
  return existsSync("/proc/self/ns/time");
}

/** overlayfs mounted inside a user namespace (Linux 5.11). */
export function kernelOverlayInUserns(version = release()): boolean {
  const [major = 0, minor = 0] = version.split(".").map((n) => parseInt(n, 10));
  return major > 5 || (major === 5 && minor >= 11);
}
