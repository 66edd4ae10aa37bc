/**
 * Moves an older box's store over, once: it kept each image as one unpacked tree,
 * images/<sha256 of its archive>/{rootfs,image.json}, and names as refs/<name>:<tag> holding that
 * digest. Each tree becomes a layer by rename (no copy; a container running on it keeps running,
 * since its overlay holds the directory, not the path); the image gets a config, and its record
 * remembers the old digest, so containers made by the older box still find the image they use.
 * Each step can be repeated: a migration cut short by a crash finishes on the next command.
 *
 * The embedded Alpine is recognised by its digest and becomes exactly the image a fresh store
 * makes of it (true diffID, same config, same ID). Any other tree's archive was not kept, so its
 * "diffID" is the old digest (marked legacy): it runs as before but cannot be saved.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { isScratch, listDir } from "../../store/dirs";
import { EMBEDDED_ALPINE } from "../alpine";
import { alpineConfig, embeddedConfig, EMBEDDED_ALPINE_CREATED } from "../alpine-config";
import { DEFAULT_PATH, encodeConfig, makeConfig } from "../config";
import { parseReference, tagName } from "../reference";
import { writeBlob, scratchPath } from "./blobs";
import { MEDIA, makeShortLink, readLayer, type LayerRecord } from "./layers";
import { layerPath, recordPath, type StorePaths } from "./paths";
import { writeRef } from "./refs";
import { writeFileAtomic, writeFileWhole } from "./write";

const LEGACY = /^[0-9a-f]{64}$/;

function legacyRefs(p: StorePaths): string[] {
  return listDir(p.refs).filter((f) => !isScratch(f) && !f.includes("%2F") && f.includes(":"));
}

/** Bytes of regular files under dir (links not followed). */
function treeSize(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const path = join(d, n);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) stack.push(path);
      else if (st.isFile()) total += st.size;
    }
  }
  return total;
}

interface LegacyMeta {
  source: string;
  created: string;
}

function readMeta(dir: string): LegacyMeta {
  try {
    const m: unknown = JSON.parse(readFileSync(join(dir, "image.json"), "utf8"));
    if (m && typeof m === "object") {
      const o = m as Record<string, unknown>;
      return { source: typeof o.source === "string" ? o.source : "an older box", created: typeof o.created === "string" ? o.created : new Date().toISOString() };
    }
  } catch {
    /* damaged: defaults */
  }
  return { source: "an older box", created: new Date().toISOString() };
}

/** Called under the store lock. */
export function migrate(p: StorePaths): void {
  const byLegacy = new Map<string, string>(); // old digest -> image ID
  for (const hex of listDir(p.images).filter((f) => LEGACY.test(f))) {
    const dir = join(p.images, hex);
    const meta = readMeta(dir);
    const embedded = hex === EMBEDDED_ALPINE.sha256;
    const diffID = embedded ? EMBEDDED_ALPINE.diffID : `sha256:${hex}`;
    let layer: LayerRecord | undefined = readLayer(p, diffID);
    if (!layer && existsSync(join(dir, "rootfs"))) {
      const scratch = scratchPath(p, "layer");
      mkdirSync(scratch, { mode: 0o700 });
      renameSync(join(dir, "rootfs"), join(scratch, "diff"));
      const short = makeShortLink(p, diffID);
      layer = {
        diffID,
        size: treeSize(join(scratch, "diff")),
        tarSize: embedded ? EMBEDDED_ALPINE.tarSize : 0,
        ...(embedded ? { blob: { digest: `sha256:${hex}`, mediaType: MEDIA.ociLayerGzip, size: EMBEDDED_ALPINE.size } } : {}),
        short,
        created: meta.created,
        ...(embedded ? { newest: Date.parse(EMBEDDED_ALPINE_CREATED) / 1000 } : { legacy: true }),
      };
      writeFileWhole(join(scratch, "layer.json"), JSON.stringify(layer) + "\n");
      rmSync(layerPath(p, diffID), { recursive: true, force: true });
      renameSync(scratch, layerPath(p, diffID));
    }
    if (layer) {
      const config = embedded
        ? embeddedConfig()
        : encodeConfig(makeConfig([diffID], meta.created, { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ["/bin/sh"] }, `moved from an older box store (${meta.source})`));
      const id = writeBlob(p, config);
      writeFileAtomic(recordPath(p, id), JSON.stringify({ id, layers: [diffID], repoDigests: [], source: meta.source, stored: meta.created, legacyDigest: hex }, null, 1) + "\n");
      byLegacy.set(hex, id);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  // Old names: refs/<name>:<tag> -> the normalised name, pointing at the image's new ID.
  for (const file of legacyRefs(p)) {
    const path = join(p.refs, file);
    let hex = "";
    try {
      hex = readFileSync(path, "utf8").trim();
    } catch {
      /* unreadable: dropped */
    }
    const id = byLegacy.get(hex) ?? findByLegacy(p, hex);
    const ref = parseReference(file);
    if (id && ref && !ref.digest) writeRef(p, tagName(ref), id);
    unlinkSync(path);
  }
}

function findByLegacy(p: StorePaths, hex: string): string | undefined {
  for (const f of listDir(p.db)) {
    try {
      const rec = JSON.parse(readFileSync(join(p.db, f), "utf8")) as { id?: unknown; legacyDigest?: unknown };
      if (rec.legacyDigest === hex && typeof rec.id === "string") return rec.id;
    } catch {
      /* damaged */
    }
  }
  return undefined;
}

