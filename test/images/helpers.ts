// Shared by the image tests: what the store holds, and archives built in memory.
import { expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";
import { imageForRun, listImageDir, readImageFile, statImagePath } from "../../src/image/run";
import { layoutFor } from "../../src/store/layout";
import { box } from "../e2e/harness";

export const EMBEDDED_ID_PREFIX = "981d376b08da";
export const EMBEDDED_DIFF = "1bccf10afce5c1ffe31381419930ad565c1436eaeb1ca680494b0663e0028419";

/** Every file (not directory) under dir, relative, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory() && !isLink(p)) walk(p, rel ? `${rel}/${n}` : n);
      else out.push(rel ? `${rel}/${n}` : n);
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out.sort();
}

function isLink(p: string): boolean {
  try {
    return (require("node:fs") as typeof import("node:fs")).lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** No image, layer, blob, name, partial download, scratch file or lock left in the store. */
export function expectEmptyStore(root: string): void {
  for (const sub of ["images", "refs", "tmp", "locks"]) {
    expect({ [sub]: filesUnder(join(root, sub)) }).toEqual({ [sub]: [] });
  }
}

/** The layer directories (diffID hex) in the store. */
export function layerDirs(root: string): string[] {
  const dir = join(root, "images/layers");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function blobs(root: string): string[] {
  const dir = join(root, "images/blobs/sha256");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function layerDiffDir(root: string, diffHex: string): string {
  return join(root, "images/layers", diffHex, "diff");
}

export interface ImageRow {
  Repository: string;
  Tag: string;
  ID: string;
  Size: string;
  CreatedSince: string;
  Digest: string;
}

/** `box images --format json --no-trunc`, parsed. */
export async function images(root: string): Promise<ImageRow[]> {
  const r = await box(root, ["images", "--format", "json", "--no-trunc"]);
  expect(r.code).toBe(0);
  return r.stdout.trim() ? r.stdout.trim().split("\n").map((l) => JSON.parse(l) as ImageRow) : [];
}

export async function imageId(root: string, name: string): Promise<string | undefined> {
  const [repo, tag = "latest"] = name.split(":");
  return (await images(root)).find((r) => r.Repository === repo && r.Tag === tag)?.ID;
}

/** `box image inspect`, parsed. */
export async function inspect(root: string, name: string): Promise<Record<string, unknown> & { Config: Record<string, unknown> }> {
  const r = await box(root, ["image", "inspect", name]);
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  return JSON.parse(r.stdout)[0];
}

export type Entry = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar archive of the given entries, in memory. */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...h } of entries) p.entry({ mtime: new Date(1_700_000_000_000), uid: 0, gid: 0, ...h }, body ?? "");
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * Whether the container core mounts an image of several layers: today src/container/start.ts
 * takes one lowerdir from imageRootfs (enough for one layer); once it takes RunImage.layers from
 * imageForRun, every test below runs its probe in a real container again.
 */
export const CORE_MOUNTS_LAYERS = !readFileSync(join(import.meta.dir, "../../src/container/start.ts"), "utf8").includes("imageRootfs(");

/**
 * What a container of image `name` sees, by running `sh -c script` in one; or, for an image of
 * several layers while the core cannot mount those yet, the same answer worked out from the
 * layers the way overlayfs merges them (src/image/rootfs.ts), by `view`.
 */
export async function seen(root: string, name: string, script: string, view: (img: { layers: string[] }) => string): Promise<string> {
  const img = await imageForRun(layoutFor(root), name, "never");
  if (CORE_MOUNTS_LAYERS || img.layers.length === 1) {
    const r = await box(root, ["run", name, "sh", "-c", script]);
    expect(r.stderr).toBe("");
    return r.stdout;
  }
  return view(img);
}

/** The layered test image's probe, worked out from its layers. */
export function layeredView(img: { layers: string[] }): string {
  const read = (p: string) => readImageFile(img, p)?.toString() ?? "";
  const st = (p: string) => {
    const s = statImagePath(img, p);
    return s ? `${s.mode.toString(8)} ${s.nlink}` : "";
  };
  return [
    read("/opt/app/data"),
    `${st("/opt/app/suid")}\n${st("/opt/app/data")}\n`,
    (listImageDir(img, "/var/cache") ?? []).join("\n") + "\n",
    statImagePath(img, "/etc/motd") ? "motd\n" : "no-motd\n",
    statImagePath(img, "/opt/app/link") ? "link\n" : "no-link\n",
    read("/etc/issue") + read("/etc/alpine-release"),
  ].join("");
}

/** What the container sees of the layered test image (oci.ts layeredImage), and what it must see. */
export const PROBE = [
  "cat /opt/app/data",
  "stat -c '%a %h' /opt/app/suid /opt/app/data",
  "ls /var/cache",
  "test -e /etc/motd && echo motd || echo no-motd",
  "test -e /opt/app/link && echo link || echo no-link",
  "cat /etc/issue /etc/alpine-release",
].join("; ");
export const SEEN = "layer two\n4755 1\n644 2\nnew\nno-motd\nno-link\nlayer three\n3.20.3\n";
