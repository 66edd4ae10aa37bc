/** Bytes a volume holds (what `volume prune` reclaims): its regular files, read without following a link. */
import { DirTree } from "../copy/tree";
import { Dir } from "../fs/dir";
import type { Layout } from "../store/layout";
import { volumeData } from "./store";

export function volumeSize(layout: Layout, name: string): number {
  let tree: DirTree;
  try {
    tree = new DirTree(Dir.open(volumeData(layout, name), "beneath"));
  } catch {
    return 0;
  }
  const seen = new Set<string>();
  const walk = (rel: Buffer): number => {
    let n = 0;
    for (const e of tree.list(rel)) {
      const path = rel.length ? Buffer.concat([rel, Buffer.from("/"), e.name]) : e.name;
      if (e.stat.type === "dir" && e.stat.dev === tree.lstat(Buffer.alloc(0))?.dev) n += walk(path);
      else if (e.stat.type === "file" && !seen.has(`${e.stat.dev}:${e.stat.ino}`)) {
        seen.add(`${e.stat.dev}:${e.stat.ino}`);
        n += e.stat.size;
      }
    }
    return n;
  };
  try {
    return walk(Buffer.alloc(0));
  } catch {
    return 0; // changed meanwhile: the size is only said
  } finally {
    tree.close();
  }
}
