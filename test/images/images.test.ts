// box pull, import, images, rmi against a local mirror and archives the tests build.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE_TARBALL, BOX, box, removeRoot, run, spawnBox, tempDir, withRoot } from "../e2e/harness";
import { blobs, EMBEDDED_DIFF, EMBEDDED_ID_PREFIX, expectEmptyStore, filesUnder, images, inspect, layerDiffDir, layerDirs, tarOf } from "./helpers";
import { startMirror, type Mirror } from "./mirror";

/** The tarballs' sha256 (the blobs), and their tars' (the layers' diffIDs). */
const SHA_3_19_4 = "a2a87004e87720cbb0372c08b7de9b80748afdfd7fd72d2eab2ec0b074b92211";
const SHA_3_20_3 = "d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c";
const DIFF_3_19_4 = "f72e1091e2e43fb27f30dab4a9d56294d97d1d8bcf35a6911567ce05a7e3ca3a";
const ID = /^sha256:[0-9a-f]{64}\n$/;
let mirror: Mirror;
const work = tempDir("box-images-");

beforeAll(() => {
  mirror = startMirror();
});
afterAll(() => {
  mirror.stop();
  removeRoot(work);
});


describe("box pull", () => {
  test("alpine:3.19 from the mirror, then box run alpine:3.19 prints 3.19.4", () =>
    withRoot(async (root) => {
      const r = await box(root, ["pull", "--mirror", `${mirror.url}/ok`, "alpine:3.19"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(ID);
      expect(r.stderr).toContain("pulling alpine:3.19.4");
      const run1 = await box(root, ["run", "alpine:3.19", "cat", "/etc/alpine-release"]);
      expect(run1.stdout).toBe("3.19.4\n");
      const names = (await images(root)).map((i) => `${i.Repository}:${i.Tag} ${i.ID}`);
      expect(names).toEqual([`alpine:3.19 ${r.stdout.trim()}`, `alpine:3.19.4 ${r.stdout.trim()}`]);
      // One layer (by the tar's digest), its tarball kept as the blob.
      expect(layerDirs(root)).toEqual([DIFF_3_19_4]);
      expect(blobs(root)).toContain(SHA_3_19_4);
    }));

  test("box run alpine:TAG pulls what is neither stored nor embedded", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "alpine:3.19.4", "cat", "/etc/alpine-release"], { env: { BOX_ALPINE_MIRROR: `${mirror.url}/ok` } });
      expect(r.stdout).toBe("3.19.4\n");
      expect(r.code).toBe(0);
      // The embedded tags need no mirror at all.
      const off = await box(root, ["run", "alpine:3.20", "cat", "/etc/alpine-release"], { env: { BOX_ALPINE_MIRROR: "http://127.0.0.1:9" } });
      expect(off.stdout).toBe("3.20.3\n");
    }));

  test("tags: latest is latest-stable, a branch is its newest release, an exact version, edge", () =>
    withRoot(async (root) => {
      const ids: Record<string, string> = {};
      for (const tag of ["latest", "3.20", "3.19.4", "edge"]) {
        const r = await box(root, ["pull", "--mirror", `${mirror.url}/ok/`, `alpine:${tag}`]);
        expect({ tag, code: r.code }).toEqual({ tag, code: 0 });
        ids[tag] = r.stdout.trim();
      }
      expect(ids.latest).toStartWith(`sha256:${EMBEDDED_ID_PREFIX}`);
      expect([ids["3.20"], ids.edge]).toEqual([ids.latest, ids.latest]);
      expect(ids["3.19.4"]).not.toBe(ids.latest);
      // 3.20.3 pulled is byte for byte the embedded one: the same image, stored once.
      expect((await box(root, ["run", "true"])).code).toBe(0);
      expect(layerDirs(root)).toEqual([EMBEDDED_DIFF, DIFF_3_19_4].sort());
      const old = await box(root, ["pull", "--mirror", `${mirror.url}/ok`, "alpine:3.19.1"]);
      expect(old.code).toBe(125);
      expect(old.stderr).toBe("box: Alpine 3.19.1 is not available: the newest release of its branch is 3.19.4\n");
    }));

  const failures: Array<[string, string, string | RegExp]> = [
    ["an unreachable mirror", "http://127.0.0.1:9", /^box: cannot reach http:\/\/127\.0\.0\.1:9\/v3\.19\/releases\/x86_64\/latest-releases\.yaml: /],
    ["HTTP 404", "/404", /latest-releases\.yaml answered HTTP 404/],
    ["HTTP 500", "/500", /latest-releases\.yaml answered HTTP 500/],
    ["a truncated transfer", "/truncated", /alpine-minirootfs-3\.19\.4-x86_64\.tar\.gz ended after \d+ of \d+ bytes$/],
    ["a stalled transfer", "/stall", /the download of .* stalled for 1 s$/],
    ["a checksum mismatch", "/badsum", /does not match its sha256: refusing it$/],
    ["a YAML that does not parse", "/badyaml", /^box: the mirror's latest-releases\.yaml (does not parse|is not a list of releases)/],
    ["a YAML without a minirootfs entry", "/noentry", "box: the mirror's latest-releases.yaml has no alpine-minirootfs entry"],
  ];
  for (const [what, path, message] of failures) {
    test(`fails on ${what}: exit 125, one sentence, nothing left`, () =>
      withRoot(async (root) => {
        const base = path.startsWith("http") ? path : `${mirror.url}${path}`;
        const r = await box(root, ["pull", "--timeout", "1", "--mirror", base, "alpine:3.19"]);
        expect(r.code).toBe(125);
        expect(r.stdout).toBe("");
        const last = r.stderr.trim().split("\n").pop()!;
        if (typeof message === "string") expect(last).toBe(message);
        else expect(last).toMatch(message);
        expectEmptyStore(root);
      }));
  }

  test("an unknown tag, and an image that is not alpine, from a mirror", () =>
    withRoot(async (root) => {
      const tag = await box(root, ["pull", "--mirror", `${mirror.url}/ok`, "alpine:stable"]);
      expect(tag).toMatchObject({ code: 125, stderr: 'box: unknown Alpine tag "stable": use latest, edge, a branch like 3.19 or a release like 3.19.4\n' });
      const other = await box(root, ["pull", "--mirror", `${mirror.url}/ok`, "debian:12"]);
      expect(other).toMatchObject({ code: 125, stderr: "box: an Alpine mirror has only alpine images; pull debian:12 from a registry (box pull without --mirror)\n" });
      expectEmptyStore(root);
    }));

  test("two pulls of one image at once download it once, and both succeed", () =>
    withRoot(async (root) => {
      const path = "/ok/v3.19/releases/x86_64/alpine-minirootfs-3.19.4-x86_64.tar.gz";
      const before = mirror.hits.get(path) ?? 0;
      const [a, b] = await Promise.all([0, 1].map(() => box(root, ["pull", "--mirror", `${mirror.url}/ok`, "alpine:3.19"])));
      expect([a!.code, b!.code]).toEqual([0, 0]);
      expect((mirror.hits.get(path) ?? 0) - before).toBe(1);
      expect(a!.stdout).toBe(b!.stdout);
      expect(layerDirs(root)).toEqual([DIFF_3_19_4]);
    }));

  test("kill -9 in the middle of a pull leaves a store the next command cleans and uses", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["pull", "--timeout", "30", "--mirror", `${mirror.url}/stall`, "alpine:3.19"]);
      // Wait until the download has begun.
      const downloading = () => existsSync(join(root, "tmp")) && readdirSync(join(root, "tmp")).some((f) => f.startsWith("download-"));
      for (let i = 0; i < 300 && !downloading(); i++) await Bun.sleep(10);
      expect(downloading()).toBe(true);
      await Bun.sleep(100);
      proc.kill("SIGKILL");
      await proc.exited;
      expect(filesUnder(join(root, "images"))).toEqual([]);
      expect(filesUnder(join(root, "refs"))).toEqual([]);
      const r = await box(root, ["pull", "--mirror", `${mirror.url}/ok`, "alpine:3.19"]);
      expect(r.code).toBe(0);
      expect((await box(root, ["run", "alpine:3.19", "cat", "/etc/alpine-release"])).stdout).toBe("3.19.4\n");
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
      expect(readdirSync(join(root, "locks"))).toEqual([]);
    }));
});

describe("box import", () => {
  async function rootfsDir(): Promise<string> {
    const dir = tempDir("box-import-src-");
    await run(["tar", "-xzf", ALPINE_TARBALL, "-C", dir]);
    writeFileSync(join(dir, "imported-marker"), "made by the test\n");
    return dir;
  }

  test("a tarball built from a directory, in every format, and from stdin; box run NAME:TAG runs it", () =>
    withRoot(async (root) => {
      const dir = await rootfsDir();
      try {
        const tar = join(work, "rootfs.tar");
        expect((await run(["tar", "-cf", tar, "-C", dir, "."])).code).toBe(0);
        expect((await run(["sh", "-c", `gzip -kc ${tar} > ${tar}.gz && xz -kc ${tar} > ${tar}.xz && zstd -qc ${tar} > ${tar}.zst && cp ${tar}.gz ${join(work, "rootfs.tgz")}`])).code).toBe(0);
        const ids = new Set<string>();
        for (const [file, name] of [[tar, "mine:tar"], [`${tar}.gz`, "mine:gz"], [join(work, "rootfs.tgz"), "mine:tgz"], [`${tar}.xz`, "mine:xz"], [`${tar}.zst`, "mine:zst"]] as const) {
          const r = await box(root, ["import", file, name]);
          expect({ name, code: r.code, err: r.stderr }).toEqual({ name, code: 0, err: "" });
          expect(r.stdout).toMatch(ID);
          ids.add(r.stdout);
          const c = await box(root, ["run", name, "cat", "/imported-marker", "/etc/alpine-release"]);
          expect({ name, out: c.stdout }).toEqual({ name, out: "made by the test\n3.20.3\n" });
        }
        // The same tar, however compressed, is one layer and one image.
        expect(ids.size).toBe(1);
        expect(layerDirs(root).length).toBe(1);
        const stdin = await box(root, ["import", "-", "piped"], { stdin: readFileSync(`${tar}.xz`) });
        expect(stdin.code).toBe(0);
        expect((await box(root, ["run", "piped", "cat", "/imported-marker"])).stdout).toBe("made by the test\n");
        const list = await box(root, ["images"]);
        expect(list.stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
        expect(list.stdout).toMatch(/\nmine\s+zst\s+[0-9a-f]{12}\s+(Less than a second|\d+ seconds|About a minute) ago\s+7\.\d+MB\n/);
        expect(list.stdout).toMatch(/\npiped\s+latest\s+/);
      } finally {
        removeRoot(dir);
      }
    }));

  test("two imports of one file at once unpack it once; both names work", () =>
    withRoot(async (root) => {
      const [a, b] = await Promise.all([box(root, ["import", ALPINE_TARBALL, "one"]), box(root, ["import", ALPINE_TARBALL, "two"])]);
      expect([a.code, b.code]).toEqual([0, 0]);
      expect(a.stdout).toBe(b.stdout);
      expect(layerDirs(root)).toEqual([EMBEDDED_DIFF]);
      expect(blobs(root)).toContain(SHA_3_20_3);
    }));

  test("bad imports: a missing file, not a tarball, an empty stdin, a bad name", () =>
    withRoot(async (root) => {
      writeFileSync(join(work, "notes.txt"), "just text, no tar here".repeat(40));
      const cases: Array<[string[], string | Uint8Array | undefined, string]> = [
        [["import", join(work, "nope.tar"), "x"], undefined, `box: ${join(work, "nope.tar")} does not exist`],
        [["import", join(work, "notes.txt"), "x"], undefined, `box: ${join(work, "notes.txt")} is not a tar archive (.tar, .tar.gz, .tar.xz or .tar.zst)`],
        [["import", "-", "x"], "", "box: stdin is empty: nothing to import"],
        [["import", ALPINE_TARBALL, "Bad Name"], undefined, `box: invalid image name "Bad Name": use lower-case letters, digits, '.', '_' and '-', and an optional :TAG`],
        [["import", ALPINE_TARBALL], undefined, "box: box import takes a file and a name: box import FILE NAME[:TAG]. See 'box import --help'."],
      ];
      for (const [args, stdin, message] of cases) {
        const r = await box(root, args, { stdin });
        expect({ args, code: r.code, err: r.stderr }).toEqual({ args, code: 125, err: message + "\n" });
      }
      expectEmptyStore(root);
    }));

  test("a hostile archive is refused naming the entry; nothing is written outside, no image is left", () =>
    withRoot(async (root) => {
      const src = tempDir("box-hostile-src-");
      const outside = tempDir("box-outside-");
      try {
        // A symlink pointing outside, then a file written through it.
        symlinkSync(outside, join(src, "escape"));
        const tar = join(work, "hostile.tar");
        await run(["tar", "-cf", tar, "-C", src, "escape"]);
        mkdirSync(join(src, "staging/escape"), { recursive: true });
        writeFileSync(join(src, "staging/escape/pwned"), "x");
        await run(["tar", "-rf", tar, "-C", join(src, "staging"), "escape/pwned"]);
        const r = await box(root, ["import", tar, "hostile"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toBe('box: refusing the archive entry "escape/pwned": it would be written through the symbolic link "escape"\n');
        expect(readdirSync(outside)).toEqual([]);
        expectEmptyStore(root);
      } finally {
        removeRoot(src);
        removeRoot(outside);
      }
    }));
});

describe("box rmi", () => {
  test("refused while a container runs on the image, unless -f; then the name goes, and the data with the last name", () =>
    withRoot(async (root) => {
      expect((await box(root, ["import", ALPINE_TARBALL, "app:1"])).code).toBe(0);
      expect((await box(root, ["import", ALPINE_TARBALL, "app:2"])).code).toBe(0);
      const proc = spawnBox(root, ["run", "app:1", "sh", "-c", "echo ready; exec sleep 30"]);
      const reader = proc.stdout.getReader();
      await reader.read();
      reader.releaseLock();
      const refused = await box(root, ["rmi", "app:1"]);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toMatch(/^box: image app:1 is used by running container [0-9a-f]{12}: stop it first, or use -f\n$/);
      proc.kill("SIGTERM");
      await proc.exited;
      const id = (await images(root))[0]!.ID;
      const one = await box(root, ["rmi", "app:1"]);
      expect(one).toMatchObject({ code: 0, stdout: "Untagged: app:1\n" });
      expect(layerDirs(root)).toEqual([EMBEDDED_DIFF]); // app:2 still names it
      const two = await box(root, ["rmi", "app:2"]);
      expect(two).toMatchObject({ code: 0, stdout: `Untagged: app:2\nDeleted: ${id}\n` });
      // Its layer, the layer's archive, its config and its layer link went with it.
      expectEmptyStore(root);
      const missing = await box(root, ["rmi", "app:3"]);
      expect(missing).toMatchObject({ code: 125, stderr: "box: no such image: app:3\n" });
    }));

  test("-f removes the name of an image in use; the running container is unaffected", () =>
    withRoot(async (root) => {
      expect((await box(root, ["import", ALPINE_TARBALL, "svc"])).code).toBe(0);
      const proc = spawnBox(root, ["run", "svc", "sh", "-c", "echo ready; sleep 0.5; cat /etc/alpine-release"]);
      const reader = proc.stdout.getReader();
      await reader.read();
      const forced = await box(root, ["rmi", "-f", "svc"]);
      expect(forced).toMatchObject({ code: 0, stdout: "Untagged: svc\n".replace("svc", "svc:latest") });
      const rest = await reader.read();
      expect(new TextDecoder().decode(rest.value)).toBe("3.20.3\n");
      expect(await proc.exited).toBe(0);
      // Its data stayed while the container ran; now nothing uses it, and a prune removes it.
      expect((await images(root)).map((i) => `${i.Repository}:${i.Tag}`)).toEqual(["<none>:<none>"]);
      const pruned = await box(root, ["image", "prune"]);
      expect(pruned.stdout).toMatch(/^Deleted: sha256:[0-9a-f]{64}\n$/);
      expectEmptyStore(root);
    }));
});

describe("box pull on a terminal", () => {
  test("shows a progress bar with bytes, rate and ETA", () =>
    withRoot(async (root) => {
      let out = "";
      const proc = Bun.spawn([BOX, "--root", root, "pull", "--mirror", `${mirror.url}/ok`, "alpine:3.19"], {
        terminal: { cols: 120, rows: 10, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
      });
      expect(await proc.exited).toBe(0);
      proc.terminal?.close();
      expect(out).toMatch(/alpine:3\.19\.4 \[=+\] 3\.1 MB\/3\.1 MB [\d.]+ (kB|MB)\/s ETA 0s/);
    }));
});

describe("box import: exact unpacking", () => {
  test("device nodes, fifos and extended attributes are kept", () =>
    withRoot(async (root) => {
      const { pack } = await import("tar-stream");
      const p = pack();
      p.entry({ name: "dev/", type: "directory", mode: 0o755 });
      p.entry({ name: "dev/mynull", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 });
      p.entry({ name: "dev/myblock", type: "block-device", mode: 0o600, devmajor: 7, devminor: 0 });
      p.entry({ name: "run/", type: "directory", mode: 0o755 });
      p.entry({ name: "run/pipe", type: "fifo", mode: 0o644 });
      p.entry({ name: "etc/", type: "directory", mode: 0o755 });
      p.entry({ name: "etc/tagged", type: "file", mode: 0o644, pax: { "SCHILY.xattr.user.box": "kept" } }, "x");
      p.finalize();
      const chunks: Buffer[] = [];
      for await (const c of p) chunks.push(c as Buffer);
      const tar = join(work, "special.tar");
      writeFileSync(tar, Buffer.concat(chunks));
      const r = await box(root, ["import", tar, "special"]);
      expect(r.stderr).toBe("");
      const rootfs = layerDiffDir(root, layerDirs(root)[0]!);
      const { statSync } = await import("node:fs");
      const chr = statSync(join(rootfs, "dev/mynull"));
      expect([chr.isCharacterDevice(), Math.floor(chr.rdev / 256), chr.rdev % 256, chr.mode & 0o777]).toEqual([true, 1, 3, 0o666]);
      const blk = statSync(join(rootfs, "dev/myblock"));
      expect([blk.isBlockDevice(), Math.floor(blk.rdev / 256), blk.rdev % 256]).toEqual([true, 7, 0]);
      expect(statSync(join(rootfs, "run/pipe")).isFIFO()).toBe(true);
      const xattr = await run(["python3", "-c", `import os; print(os.getxattr(${JSON.stringify(join(rootfs, "etc/tagged"))}, "user.box").decode())`]);
      expect(xattr.stdout).toBe("kept\n");
    }));
});
