/** Garbage collection, and what a killed box leaves. */
import { existsSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { removeTree } from "../../userns/remove";
import { listDir } from "../../store/dirs";
import type { Layout } from "../../store/layout";
import { processStart } from "../../store/process";
import { scratchPath } from "./blobs";
import { pinned } from "./commit";
import { listLayerDirs, readLayer } from "./layers";
import { blobPath, layerPath, recordPath, type StorePaths } from "./paths";
import { listImageIds, readRecord, withStoreLock } from "./records";
import { listRefs } from "./refs";

// ---- Garbage collection ----

export interface Collected {
  images: string[];
  layers: string[];
  blobs: number;
}

/**
 * Removes what nothing needs: image records with no name, no digest reference and not in `keep`
 * (the images containers use, given by the caller), layers no remaining image lists, blobs no
 * remaining image or layer refers to, and links in l/ that lead nowhere. A layer is renamed into
 * tmp/ before it is removed, so a run can never start on a half-removed layer. Pinned layers and
 * blobs (a pull in progress) stay.
 */
export async function collectGarbage(p: StorePaths, keep: Iterable<string> = []): Promise<Collected> {
  return withStoreLock(p, async () => {
    const out: Collected = { images: [], layers: [], blobs: 0 };
    const keepIds = new Set(keep);
    const refs = listRefs(p);
    const named = new Set(refs.map((r) => r.id));
    const pins = pinned(p);
    const liveLayers = new Set<string>();
    const liveBlobs = new Set<string>();
    for (const id of listImageIds(p)) {
      const rec = readRecord(p, id);
      const needed = named.has(id) || keepIds.has(id) || (rec?.legacyDigest !== undefined && keepIds.has(rec.legacyDigest)) || (rec?.repoDigests.length ?? 0) > 0;
      if (!needed) {
        rmSync(recordPath(p, id), { force: true });
        out.images.push(id);
        continue;
      }
      if (!rec) continue; // damaged but named: left for box rmi to remove by name
      liveBlobs.add(id);
      if (rec.manifest) liveBlobs.add(rec.manifest.digest);
      for (const l of rec.layers) liveLayers.add(l);
    }
    for (const d of pins) {
      liveLayers.add(d);
      liveBlobs.add(d);
    }
    const shorts = new Set<string>();
    for (const diffID of listLayerDirs(p)) {
      const rec = readLayer(p, diffID);
      // A layer whose archive is pinned is one a pull or import is making an image of right now.
      if (liveLayers.has(diffID) || (rec?.blob && pins.has(rec.blob.digest))) {
        if (rec) {
          shorts.add(rec.short);
          if (rec.blob) liveBlobs.add(rec.blob.digest);
        }
        continue;
      }
      // Renamed away first: a run that looks it up finds it whole or not at all.
      const trash = scratchPath(p, "remove");
      try {
        renameSync(layerPath(p, diffID), trash);
      } catch {
        continue;
      }
      removeTree(trash, p.userns);
      out.layers.push(diffID);
    }
    for (const f of listDir(p.blobs)) {
      if (!/^[0-9a-f]{64}$/.test(f) || liveBlobs.has(`sha256:${f}`)) continue;
      rmSync(blobPath(p, `sha256:${f}`), { force: true });
      out.blobs++;
    }
    // Scratch of atomic writes whose writer died (NAME.tmp-XXXX), once old enough to be nobody's.
    for (const dir of [p.refs, p.db]) {
      for (const f of listDir(dir)) {
        if (!f.includes(".tmp-")) continue;
        const st = statSync(join(dir, f), { throwIfNoEntry: false });
        if (st && Date.now() - st.mtimeMs > 10 * 60_000) rmSync(join(dir, f), { force: true });
      }
    }
    for (const f of listDir(p.links)) {
      if (shorts.has(f)) continue;
      try {
        unlinkSync(join(p.links, f));
      } catch {
        /* gone */
      }
    }
    return out;
  });
}

// ---- What a killed box leaves ----

/** Removes scratch (unpacks, downloads, imports, removals, pins) whose box process is gone. */
export function collectStaleScratch(layout: Layout): void {
  for (const entry of listDir(layout.tmp)) {
    const pid = Number(/^(?:unpack|download|import|remove|blob|layer|load|pin)-(\d+)-/.exec(entry)?.[1]);
    if (pid && pid !== process.pid && processStart(pid) === undefined) removeTree(join(layout.tmp, entry), layout.userns);
  }
}

