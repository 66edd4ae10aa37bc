/**
 * What `box images` of a packed box shows besides the store: the images it carries, and its
 * embedded Alpine, as long as they are not unpacked yet (once they are, the store lists them).
 */
import { EMBEDDED_ALPINE } from "../alpine";
import { EMBEDDED_ALPINE_CREATED, embeddedConfig } from "../alpine-config";
import { sha256 } from "../digest";
import type { StorePaths } from "../store";
import { listImageIds } from "../store";
import { readRef } from "../store/refs";
import { selfPack } from "./carried";

export interface Listed {
  id: string;
  names: string[];
  created: string;
  size: number;
}

export function notYetUnpacked(p: StorePaths): Listed[] {
  const pack = selfPack();
  if (!pack) return [];
  const have = new Set(listImageIds(p));
  const out: Listed[] = pack.index.images.filter((i) => !have.has(i.id));
  const alpine = `docker.io/library/${EMBEDDED_ALPINE.name}:${EMBEDDED_ALPINE.version}`;
  const id = sha256(embeddedConfig());
  if (!readRef(p, alpine) && !have.has(id) && !out.some((i) => i.id === id)) {
    out.push({ id, names: [alpine], created: EMBEDDED_ALPINE_CREATED, size: EMBEDDED_ALPINE.dataSize });
  }
  return out;
}
