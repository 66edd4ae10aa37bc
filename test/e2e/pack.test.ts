/**
 * box pack: a copy of box that carries images (src/image/pack/). The images are made here: the
 * Alpine fixture with a marker file (box import, twice with different configs: one layer shared),
 * and a three-layer image (gzip, zstd, plain; box load of an OCI layout). The packed executable
 * then runs from fresh stores in a network namespace with nothing in it (unshare --net): it lists,
 * verifies, unpacks and runs its images with no network, no box load and no second file, and still
 * passes the basics of the e2e suite. Damaged and truncated copies are refused in one sentence,
 * leaving nothing in the store.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { openSync, closeSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { layeredImage, writeLayout } from "../images/oci";
import { ALPINE_TARBALL, box, removeRoot, run, tempDir, withRoot } from "./harness";

const work = tempDir("box-pack-");
afterAll(() => removeRoot(work));
const packed = join(work, "demo");

/** The marker image's tarball: the Alpine fixture with /marker added. */
async function markerTarball(): Promise<string> {
  const tree = join(work, "tree");
  mkdirSync(tree);
  expect((await run(["tar", "-xzf", ALPINE_TARBALL, "-C", tree])).code).toBe(0);
  writeFileSync(join(tree, "marker"), "carried by box pack\n");
  const out = join(work, "marker.tar.gz");
  expect((await run(["tar", "-czf", out, "-C", tree, "."])).code).toBe(0);
  return out;
}

/** The payload's header and index, read as a test sees them (the format: src/image/pack/format.ts). */
function payloadOf(file: string): { start: number; index: { images: Array<{ names: string[] }>; blobs: Array<{ digest: string; offset: number; size: number }> } } {
  const data = readFileSync(file);
  const start = data.lastIndexOf(Buffer.from("BOXPACK\0"));
  const io = Number(data.readBigUInt64LE(start + 24));
  const il = Number(data.readBigUInt64LE(start + 32));
  return { start, index: JSON.parse(data.subarray(start + io, start + io + il).toString()) };
}

/** Runs the packed box in a network namespace of its own: loopback down, no route to anything. */
const offline = (root: string, args: string[], exe = packed) => run(["unshare", "--net", exe, "--root", root, ...args]);

function oneSentence(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("box: ");
  return lines[0]!;
}

describe("box pack", () => {
  test("writes a copy of box (0755) carrying the images named, each blob once, and says how big it is", () =>
    withRoot(async (root) => {
      const tarball = await markerTarball();
      expect((await box(root, ["import", "-c", 'CMD ["cat", "/marker"]', tarball, "demo:1"])).code).toBe(0);
      expect((await box(root, ["import", "-c", 'CMD ["echo", "two"]', tarball, "demo:2"])).code).toBe(0);
      const layout = join(work, "layout");
      writeLayout(layout, [await layeredImage()]);
      expect((await box(root, ["load", "-i", layout])).code).toBe(0);
      const r = await box(root, ["pack", "demo:1", "demo:2", "layered:1", "-o", packed]);
      expect(r).toMatchObject({ code: 0, stdout: "" });
      expect(oneSentence(r.stderr)).toMatch(/^box: packed demo:1, demo:2, layered:1 into .*\/demo: 1\d\dMB \(box 1\d\dMB, images \d+(\.\d+)?MB\); there, run \.\/demo run demo:1$/);
      const st = statSync(packed);
      expect(st.mode & 0o7777).toBe(0o755);
      expect(readdirSync(work).filter((f) => f.includes(".tmp-"))).toEqual([]);
      // The executable box itself is, byte for byte, then the payload.
      const { start, index } = payloadOf(packed);
      const self = readFileSync(join(import.meta.dir, "../../dist/box"));
      expect(start).toBe(self.length);
      const head = Buffer.alloc(4096);
      const fd = openSync(packed, "r");
      readSync(fd, head, 0, 4096, self.length - 4096);
      closeSync(fd);
      expect(head.equals(self.subarray(self.length - 4096))).toBe(true);
      // 3 manifests and 3 configs, the marker layer once for two images, three layers of layered:1.
      expect(index.images.map((i) => i.names)).toEqual([["docker.io/library/demo:1"], ["docker.io/library/demo:2"], ["docker.io/library/layered:1"]]);
      expect(index.blobs).toHaveLength(10);
      expect(st.size).toBe(self.length + 96 + index.blobs.reduce((n, b) => n + b.size, 0) + Buffer.byteLength(JSON.stringify(index)));
    }), 120_000);

  test("the packed box lists its images beside the embedded Alpine, and runs them with no network, no box load, no second file", () =>
    withRoot(async (root) => {
      expect(existsSync(packed)).toBe(true);
      const before = await offline(root, ["images"]);
      expect(before.code).toBe(0);
      const rows = before.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s{2,}/).slice(0, 2).join(":"));
      expect(rows.sort()).toEqual(["alpine:3.20.3", "demo:1", "demo:2", "layered:1"]);
      expect(existsSync(join(root, "images/layers")) ? readdirSync(join(root, "images/layers")) : []).toEqual([]);
      expect(await offline(root, ["run", "demo:1"])).toMatchObject({ code: 0, stdout: "carried by box pack\n", stderr: "" });
      expect(await offline(root, ["run", "demo:2"])).toMatchObject({ code: 0, stdout: "two\n" });
      const layered = await offline(root, ["run", "layered:1", "sh", "-c", "cat /opt/app/data /etc/issue; echo $LAYERED; ls /var/cache; pwd"]);
      expect(layered).toMatchObject({ code: 0, stdout: "layer two\nlayer three\nyes\nnew\n/opt/app\n" });
      // In the store now, as any loaded image: unpacked once, the marker layer shared by demo:1 and :2.
      const after = await box(root, ["images", "--format", "json"]);
      expect(after.stdout.trim().split("\n").map((l) => JSON.parse(l).Repository).sort()).toEqual(["demo", "demo", "layered"]);
      expect(readdirSync(join(root, "images/layers"))).toHaveLength(4);
      // The embedded Alpine's size as listed before it is unpacked is what the store shows after.
      expect((await offline(root, ["run", "alpine", "true"])).code).toBe(0);
      const alpineRow = (await box(root, ["images", "alpine"])).stdout.trim().split("\n")[1]!.split(/\s{2,}/);
      expect(before.stdout.split("\n").find((l) => l.startsWith("alpine"))!.split(/\s{2,}/)).toEqual(alpineRow);
    }), 120_000);

  test("the packed box passes the e2e basics: isolation, argv, stdin, exit status, PID 1", () =>
    withRoot(async (root) => {
      const opts = { exe: packed };
      const iso = await box(root, ["run", "--hostname", "packed", "sh", "-c", 'echo "$(hostname) $$ $(cat /proc/1/comm) $(ls /sys/class/net)"'], opts);
      expect(iso).toMatchObject({ code: 0, stdout: "packed 2 box-init lo\n", stderr: "" });
      expect(await box(root, ["run", "alpine", "sh", "-c", 'echo "$@"', "sh", "-la", "--help"], opts)).toMatchObject({ code: 0, stdout: "-la --help\n" });
      expect(await box(root, ["run", "-i", "demo:1", "cat"], { ...opts, stdin: "through stdin\n" })).toMatchObject({ code: 0, stdout: "through stdin\n" });
      expect((await box(root, ["run", "sh", "-c", "exit 7"], opts)).code).toBe(7);
      expect((await box(root, ["run", "sh", "-c", "kill -TERM $$"], opts)).code).toBe(143);
      expect((await box(root, ["run", "--", "nosuchcommand"], opts)).code).toBe(127);
      expect((await box(root, ["--version"], opts)).stdout).toStartWith("box version ");
      // Its helper still runs from a sealed memfd, and supervises a detached container as box's does.
      const id = (await box(root, ["run", "-d", "demo:1", "sleep", "30"], opts)).stdout.trim();
      const [supervisor] = readFileSync(join(root, "run", `${id}.pid`), "utf8").trim().split(" ");
      expect(readlinkSync(`/proc/${supervisor}/exe`)).toStartWith("/memfd:box-helper");
      expect((await box(root, ["exec", id, "cat", "/marker"], opts)).stdout).toBe("carried by box pack\n");
      expect((await box(root, ["rm", "-f", id], opts)).code).toBe(0);
    }), 120_000);

  test("a byte flipped in a carried layer: refused in one sentence before anything is unpacked", () =>
    withRoot(async (root) => {
      const { start, index } = payloadOf(packed);
      // layered:1's bottom layer is the Alpine fixture as it is.
      const biggest = index.blobs.find((b) => b.digest === "sha256:d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c")!;
      const bad = join(work, "flipped");
      copyFileSync(packed, bad);
      chmodSync(bad, 0o755);
      const fd = openSync(bad, "r+");
      const b = Buffer.alloc(1);
      const at = start + biggest.offset + Math.floor(biggest.size / 2);
      readSync(fd, b, 0, 1, at);
      b[0]! ^= 0x20;
      writeSync(fd, b, 0, 1, at);
      closeSync(fd);
      const r = await offline(root, ["run", "layered:1", "true"], bad);
      expect(r.code).toBe(125);
      expect(oneSentence(r.stderr)).toMatch(/^box: .*\/flipped is damaged: layer 1 of layered:1 \(sha256:[0-9a-f]{12}\) does not match its digest; copy it again from where it was packed$/);
      for (const sub of ["images/db", "images/layers", "images/blobs/sha256", "tmp"]) expect({ sub, in: readdirSync(join(root, sub)) }).toEqual({ sub, in: [] });
      // The other images, whose blobs are whole, still run.
      expect(await offline(root, ["run", "demo:1"], bad)).toMatchObject({ code: 0, stdout: "carried by box pack\n" });
    }), 120_000);

  test("a truncated file, a damaged header or index: refused in one sentence, by every command that reads them", () =>
    withRoot(async (root) => {
      const { start } = payloadOf(packed);
      const size = statSync(packed).size;
      const cases: Array<[string, (f: string) => void, RegExp]> = [
        ["truncated", (f) => truncateSync(f, size - 1000), /is damaged: it is truncated \(its carried images end after \d+ of \d+ bytes\)/],
        ["cut-in-header", (f) => truncateSync(f, start + 40), /is damaged: it has 40 bytes after the executable, too few for box's header/],
        ["header", (f) => flip(f, start + 20), /is damaged: the header of its carried images is corrupt/],
        ["index", (f) => flip(f, size - 10), /is damaged: the index of its carried images does not match its digest/],
      ];
      for (const [name, damage, sentence] of cases) {
        const bad = join(work, name);
        copyFileSync(packed, bad);
        chmodSync(bad, 0o755);
        damage(bad);
        for (const args of [["images"], ["run", "demo:1"]]) {
          const r = await offline(root, args, bad);
          expect({ name, args, code: r.code, stdout: r.stdout }).toEqual({ name, args, code: 125, stdout: "" });
          expect(oneSentence(r.stderr)).toMatch(sentence);
        }
      }
      expect(existsSync(join(root, "images/db")) ? readdirSync(join(root, "images/db")) : []).toEqual([]);
    }), 120_000);

  test("--max-size: refused before anything is written; bad input in one sentence", () =>
    withRoot(async (root) => {
      const tarball = join(work, "marker.tar.gz");
      expect((await box(root, ["import", tarball, "small:1"])).code).toBe(0);
      const out = join(work, "too-big");
      const r = await box(root, ["pack", "small:1", "--max-size", "50m", "-o", out]);
      expect(r.code).toBe(125);
      expect(oneSentence(r.stderr)).toMatch(/^box: the packed executable would be 1\d\dMB \(box 1\d\dMB and the images [\d.]+MB\), more than --max-size 52.4MB allows: nothing was written$/);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(work).filter((f) => f.includes("too-big"))).toEqual([]);
      for (const [args, sentence] of [
        [["pack", "small:1"], "box: box pack needs -o FILE: the executable to write. See 'box pack --help'."],
        [["pack", "-o", out], "box: box pack needs at least one image. See 'box pack --help'."],
        [["pack", "nosuch:1", "-o", out], "box: no such image: nosuch:1 (box pack carries images of the store: pull, load, import or commit it first)"],
        [["pack", "small:1", "--max-size", "lots", "-o", out], 'box: invalid --max-size "lots": give a size such as 64m or 1g'],
        [["pack", "small:1", "-o", work], `box: ${work} is a directory: give the path of the executable to write`],
      ] as const) {
        const e = await box(root, [...args]);
        expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 125, stderr: sentence + "\n" });
      }
      expect(existsSync(out)).toBe(false);
      // With room enough, the same pack is written, and a packed box packs again (its own payload left out).
      expect((await box(root, ["pack", "small:1", "--max-size", "1g", "-o", out])).code).toBe(0);
      const again = join(work, "again");
      expect((await box(root, ["pack", "small:1", "-o", again], { exe: out })).code).toBe(0);
      expect(statSync(again).size).toBe(statSync(out).size);
    }), 120_000);
});

function flip(file: string, at: number): void {
  const fd = openSync(file, "r+");
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0]! ^= 0x01;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}
