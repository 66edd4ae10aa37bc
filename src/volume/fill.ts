/**
 * A volume's first use (docker's behaviour): when a container mounts an empty volume where its
 * image has a directory, what the image holds there is copied in first: modes, owners, times,
 * extended attributes, links as links, and the directory's own owner and mode on the volume's
 * root. Read through the layers (the container's upper directory over its image's, as overlayfs
 * would merge them), written through a Dir in "beneath" mode: nothing the image holds can make
 * this read or write outside the layers and the volume.
 */
import { LayersTree, resolvePath } from "../copy/tree";
import { TreeSource } from "../copy/walk";
import { Dir } from "../fs/dir";
import { unpackLayer } from "../image/unpack";
import type { Layout } from "../store/layout";
import { volumeData } from "./store";

/** Copies the layers' content at target into the volume when it is empty; true when it did. */
export async function fillVolume(layout: Layout, name: string, layers: readonly string[], target: string): Promise<boolean> {
  const dest = Dir.open(volumeData(layout, name), "beneath");
  const tree = new LayersTree(layers);
  try {
    if (dest.list("").length > 0) return false;
    const found = resolvePath(tree, Buffer.from(target), true);
    if (!found || found.stat.type !== "dir") return false;
    await unpackLayer(new TreeSource(tree, found.rel, { as: Buffer.alloc(0) }), dest, { plain: true });
    const st = found.stat;
    dest.chown("", st.uid, st.gid);
    dest.chmod("", st.mode);
    dest.utimes("", st.mtime, st.mtime);
    return true;
  } finally {
    tree.close();
    dest.close();
  }
}
