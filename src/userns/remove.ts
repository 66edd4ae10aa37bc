/**
 * Removing a tree of the store that may hold files of a container's ids (an overlay's upper layer,
 * an image's layer, a scratch directory of either). As root, or when every file is the user's,
 * box removes it itself (src/fs: never following a link, never crossing a mount). A rootless user
 * cannot remove what belongs to its subordinate ids: then the helper does, as root of the user's
 * namespace (./tool.ts), where those ids are its own.
 */
import { isFsError, removeHostTree } from "../fs/dir";
import type { IdMapping } from "./ids";
import { removeInNamespace } from "./tool";

export function removeTree(path: string, userns?: IdMapping): void {
  try {
    removeHostTree(path);
  } catch (err) {
    if (!userns || userns.single || !isFsError(err, "EACCES", "EPERM")) throw err;
    removeInNamespace(userns, [path]);
  }
}
