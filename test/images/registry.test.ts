// box pull from a real registry on 127.0.0.1 (docker-registry with token auth, the tests' own
// token server, a proxy that misbehaves on request). No test reaches the internet.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, removeRoot, run, spawnBox, tempDir, withRoot } from "../e2e/harness";
import { readImageFile } from "../../src/image/run";
import { blobs, expectEmptyStore, filesUnder, images, inspect, layerDirs, layeredView, PROBE, SEEN, seen } from "./helpers";
import { alpineLayer, entriesLayer, layeredImage, writeLayout, type ImageSpec } from "./oci";
import { PASSWORD, startRegistry, USER, type TestRegistry } from "./registry";

let reg: TestRegistry;
const work = tempDir("box-registry-test-");
/** The layered image pushed as public/layered:1, and its config digest (its image ID). */
let layeredId = "";
let layeredSpec: ImageSpec;

beforeAll(async () => {
  reg = await startRegistry();
  const dir = join(work, "layered");
  layeredSpec = await layeredImage();
  layeredId = writeLayout(dir, [layeredSpec])[0]!.configDigest;
  await reg.push(`oci:${dir}:layered:1`, "public/layered:1");
  await reg.push(`oci:${dir}:layered:1`, "private/layered:1");
}, 120_000);
afterAll(async () => {
  await reg.stop();
  removeRoot(work);
});
afterEach(() => {
  reg.faults.length = 0;
  reg.tokenMode = "ok";
});

const blobGets = (digest: string) => reg.log.filter((l) => l.startsWith("GET ") && l.includes(`/blobs/${digest}`)).length;

describe("box pull from a registry", () => {
  test("anonymous, through the bearer token flow: a three-layer image, run, listed, inspected; pulled again: nothing downloaded", () =>
    withRoot(async (root) => {
      const tokensBefore = reg.tokens.length;
      const name = `${reg.host}/public/layered:1`;
      const r = await box(root, ["pull", name]);
      expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: `${layeredId}\n` });
      expect(r.stderr).toContain(`box: pulling ${name} (3 layers,`);
      expect(r.stderr).toContain("Pull complete");
      expect(reg.tokens.slice(tokensBefore)).toContain("- repository:public/layered:pull");
      expect(await seen(root, name, PROBE, layeredView)).toBe(SEEN);
      expect((await images(root)).map((i) => `${i.Repository}:${i.Tag} ${i.ID}`)).toEqual([`${reg.host}/public/layered:1 ${layeredId}`]);
      const doc = await inspect(root, name);
      expect(doc.RepoDigests).toEqual([expect.stringMatching(new RegExp(`^${reg.host}/public/layered@sha256:[0-9a-f]{64}$`))]);
      const base = layeredSpec.layers[0]!.digest;
      const before = blobGets(base);
      const again = await box(root, ["pull", name]);
      expect({ code: again.code, out: again.stdout }).toEqual({ code: 0, out: `${layeredId}\n` });
      expect(again.stderr).toContain("image is up to date");
      expect(blobGets(base)).toBe(before);
      // By digest: the same image, no name of its own, its digest reference.
      const digestRef = `${reg.host}/public/layered@${(doc.RepoDigests as string[])[0]!.split("@")[1]}`;
      const byDigest = await box(root, ["pull", digestRef]);
      expect(byDigest.stdout).toBe(`${layeredId}\n`);
      expect(await seen(root, digestRef, "cat /opt/app/data", (img) => readImageFile(img, "/opt/app/data")!.toString())).toBe("layer two\n");
    }));

  test("box run NAME pulls what is not in the store", () =>
    withRoot(async (root) => {
      const dir = join(work, "single");
      writeLayout(dir, [{ layers: [alpineLayer()], refName: "single:1", config: { Cmd: ["/bin/sh"] } }]);
      await reg.push(`oci:${dir}:single:1`, "public/single:1");
      const r = await box(root, ["run", `${reg.host}/public/single:1`, "cat", "/etc/alpine-release"]);
      expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: "3.20.3\n" });
      expect(layerDirs(root).length).toBe(1);
    }));

  test("a private repository: refused anonymously with a sentence; box login (a wrong password refused); pull; logout; docker's config.json works too", () =>
    withRoot(async (root) => {
      const name = `${reg.host}/private/layered:1`;
      const anon = await box(root, ["pull", name]);
      expect(anon.code).toBe(125);
      expect(anon.stderr).toBe(`box: ${reg.host} refused private/layered:1 (authentication required): the repository does not exist, or it needs a login (box login ${reg.host})\n`.replace("private/layered:1", name));
      const wrong = await box(root, ["login", "-u", USER, "--password-stdin", reg.host], { stdin: "wrong\n" });
      expect(wrong.code).toBe(125);
      expect(wrong.stderr).toContain(`refused the credentials of ${USER}: box login ${reg.host} again`);
      const ok = await box(root, ["login", "-u", USER, "--password-stdin", reg.host], { stdin: `${PASSWORD}\n` });
      expect({ code: ok.code, out: ok.stdout }).toEqual({ code: 0, out: "Login Succeeded\n" });
      const auth = await run(["stat", "-c", "%a", join(root, "auth.json")]);
      expect(auth.stdout).toBe("600\n");
      const pulled = await box(root, ["pull", "-q", name]);
      expect({ code: pulled.code, out: pulled.stdout, err: pulled.stderr }).toEqual({ code: 0, out: `${layeredId}\n`, err: "" });
      expect(reg.tokens.at(-1)).toBe(`${USER} repository:private/layered:pull`);
      expect((await box(root, ["logout", reg.host])).stdout).toBe(`Removing login credentials for ${reg.host}\n`);
      expect((await box(root, ["logout", reg.host])).stderr).toBe(`box: box has no credentials for ${reg.host}\n`);
      // docker's own config, read as it is (never written).
      const home = join(work, "home");
      mkdirSync(join(home, ".docker"), { recursive: true });
      writeFileSync(join(home, ".docker/config.json"), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } } }));
      await withRoot(async (other) => {
        const viaDocker = await box(other, ["pull", "-q", name], { env: { HOME: home } });
        expect({ code: viaDocker.code, err: viaDocker.stderr }).toEqual({ code: 0, err: "" });
      });
    }));

  test("an index with several platforms gives linux/amd64; an index without it is refused naming what it offers", () =>
    withRoot(async (root) => {
      const base = alpineLayer();
      const amd = await entriesLayer([{ name: "arch", type: "file", body: "amd64\n" }], "gzip");
      const arm = await entriesLayer([{ name: "arch", type: "file", body: "arm64\n" }], "gzip");
      const multi = join(work, "multi");
      writeLayout(multi, [{ layers: [base, arm], architecture: "arm64" }, { layers: [base, amd] }], { multiPlatform: { refName: "multi:1" } });
      await reg.push(`oci:${multi}:multi:1`, "public/multi:1", { all: true });
      const armOnly = join(work, "armonly");
      writeLayout(armOnly, [{ layers: [base, arm], architecture: "arm64" }, { layers: [base, arm], architecture: "arm" }], { multiPlatform: { refName: "arm:1" } });
      await reg.push(`oci:${armOnly}:arm:1`, "public/arm:1", { all: true });
      expect((await box(root, ["pull", "-q", `${reg.host}/public/multi:1`])).code).toBe(0);
      expect(await seen(root, `${reg.host}/public/multi:1`, "cat /arch", (img) => readImageFile(img, "/arch")!.toString())).toBe("amd64\n");
      const none = await box(root, ["pull", `${reg.host}/public/arm:1`]);
      expect(none).toMatchObject({ code: 125, stderr: `box: ${reg.host}/public/arm:1 has no linux/amd64 image: it offers linux/arm64, linux/arm/v7\n` });
    }));

  test("a second image on the same base layer downloads only its own layer", () =>
    withRoot(async (root) => {
      const dir = join(work, "second");
      const base = alpineLayer();
      const own = await entriesLayer([{ name: "second", type: "file", body: "2\n" }], "gzip");
      writeLayout(dir, [{ layers: [base, own], refName: "second:1" }]);
      await reg.push(`oci:${dir}:second:1`, "public/second:1");
      expect((await box(root, ["pull", "-q", `${reg.host}/public/layered:1`])).code).toBe(0);
      const before = blobGets(base.digest);
      const r = await box(root, ["pull", `${reg.host}/public/second:1`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("Already exists");
      expect(blobGets(base.digest)).toBe(before);
      expect(blobGets(own.digest)).toBeGreaterThan(0);
      expect(layerDirs(root).length).toBe(4);
    }));
});

describe("a misbehaving registry: one sentence, exit 125, nothing half-present", () => {
  const layerPath = () => new RegExp(`/blobs/${layeredSpec.layers[0]!.digest}$`);
  const name = () => `${reg.host}/public/layered:1`;

  /** No image, name, layer or scratch: only complete blobs of layers that made it may stay. */
  function expectNothingHalf(root: string): void {
    expect(filesUnder(join(root, "images/db"))).toEqual([]);
    expect(filesUnder(join(root, "refs"))).toEqual([]);
    expect(filesUnder(join(root, "tmp"))).toEqual([]);
    expect(filesUnder(join(root, "locks"))).toEqual([]);
  }

  test("a blob that does not match its digest", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: layerPath(), fault: { kind: "corrupt" }, times: 10 });
      const r = await box(root, ["pull", name()]);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n").pop()).toBe(`box: layer ${layeredSpec.layers[0]!.digest.slice(7, 19)} of ${name()} does not match its digest ${layeredSpec.layers[0]!.digest}: refusing it`);
      expectNothingHalf(root);
      expect(layerDirs(root)).not.toContain(layeredSpec.layers[0]!.diffID.slice(7));
      expect(blobs(root)).not.toContain(layeredSpec.layers[0]!.digest.slice(7));
    }));

  test("a truncated blob is resumed with a Range request; truncated every time, it fails saying so", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: layerPath(), fault: { kind: "truncate" }, times: 1 });
      const before = reg.log.length;
      const ok = await box(root, ["pull", "-q", name()]);
      expect({ code: ok.code, err: ok.stderr }).toEqual({ code: 0, err: "" });
      expect(reg.log.slice(before).some((l) => l.includes(layeredSpec.layers[0]!.digest) && / bytes=\d+-$/.test(l))).toBe(true);
      await withRoot(async (other) => {
        reg.faults.push({ path: layerPath(), fault: { kind: "truncate" }, times: 100 });
        const r = await box(other, ["pull", name()], { env: { BOX_PULL_ATTEMPTS: "3" } });
        expect(r.code).toBe(125);
        expect(r.stderr.trim().split("\n").pop()).toMatch(new RegExp(`^box: the download of layer ${layeredSpec.layers[0]!.digest.slice(7, 19)} of .* failed 3 times: it broke off after \\d+ of \\d+ bytes$`));
        expectNothingHalf(other);
      });
    }));

  test("a reset connection and a stall are resumed; a registry that ignores Range is read from the start", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: layerPath(), fault: { kind: "reset" }, times: 1 }, { path: layerPath(), fault: { kind: "stall" }, times: 1 }, { path: layerPath(), fault: { kind: "ignoreRange" }, times: 1 });
      const r = await box(root, ["pull", "-q", "--timeout", "1", name()]);
      expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: `${layeredId}\n`, err: "" });
      expect(await seen(root, name(), PROBE, layeredView)).toBe(SEEN);
    }));

  test("a stall on every attempt times out", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: layerPath(), fault: { kind: "stall" }, times: 100 });
      const r = await box(root, ["pull", "--timeout", "1", name()], { env: { BOX_PULL_ATTEMPTS: "2" } });
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split("\n").pop()).toMatch(/failed 2 times: nothing arrived for 1 s$/);
      expectNothingHalf(root);
    }));

  test("429 with Retry-After and 500s are retried; a Retry-After too long is a sentence", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: /\/manifests\//, fault: { kind: "status", status: 429, retryAfter: "1" }, times: 2 }, { path: layerPath(), fault: { kind: "status", status: 500 }, times: 2 });
      const start = Date.now();
      const r = await box(root, ["pull", "-q", name()]);
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      expect(Date.now() - start).toBeGreaterThanOrEqual(2000);
      await withRoot(async (other) => {
        reg.faults.push({ path: /\/manifests\//, fault: { kind: "status", status: 503, retryAfter: "3600" }, times: 1 });
        const r2 = await box(other, ["pull", name()]);
        expect(r2).toMatchObject({ code: 125, stderr: `box: ${reg.host} asks to wait 3600 s before asking again (HTTP 503, for ${name()}): try later\n` });
        reg.faults.length = 0;
        reg.faults.push({ path: /\/manifests\//, fault: { kind: "status", status: 502 }, times: 100 });
        const r3 = await box(other, ["pull", name()], { env: { BOX_PULL_ATTEMPTS: "2" } });
        expect(r3).toMatchObject({ code: 125, stderr: `box: ${reg.host} answered HTTP 502 for ${name()}: the test says no\n` });
        expectNothingHalf(other);
      });
    }));

  test("tokens the registry does not accept: refused once, never a 401 loop", () =>
    withRoot(async (root) => {
      reg.tokenMode = "forge";
      const before = reg.tokens.length;
      const r = await box(root, ["pull", name()]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`box: ${reg.host} refused ${name()} (authentication required): the repository does not exist, or it needs a login (box login ${reg.host})\n`);
      expect(reg.tokens.length - before).toBe(1);
      expectNothingHalf(root);
    }));

  test("schema 1 refused by name; an unknown image, tag and an unreachable registry each a sentence", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: /\/manifests\//, fault: { kind: "schema1" }, times: 1 });
      const s1 = await box(root, ["pull", name()]);
      expect(s1.stderr).toBe(`box: the manifest of ${name()} is a docker schema 1 manifest, a format box does not support (it was deprecated in 2017): push the image again with a current docker or skopeo\n`);
      const tag = await box(root, ["pull", `${reg.host}/public/layered:nope`]);
      expect(tag).toMatchObject({ code: 125, stderr: `box: ${reg.host}/public/layered:nope does not exist on ${reg.host}\n` });
      const gone = await box(root, ["pull", "127.0.0.1:9/app"]);
      expect(gone).toMatchObject({ code: 125, stderr: "box: cannot reach 127.0.0.1:9: connection refused (for 127.0.0.1:9/app:latest)\n" });
      const bad = await box(root, ["pull", "Alpine"]);
      expect(bad).toMatchObject({ code: 125, stderr: 'box: invalid image reference "Alpine": use [REGISTRY/]NAME[:TAG|@DIGEST], with lower-case names\n' });
      expectNothingHalf(root);
    }));

  test("kill -9 in the middle of a pull: nothing half-present; the next pull reuses the blobs and layers that were complete", () =>
    withRoot(async (root) => {
      reg.faults.push({ path: layerPath(), fault: { kind: "stall" }, times: 1 });
      const proc = spawnBox(root, ["pull", "--timeout", "30", name()]);
      const small = layeredSpec.layers[1]!.diffID.slice(7);
      for (let i = 0; i < 500 && !layerDirs(root).includes(small); i++) await Bun.sleep(20);
      expect(layerDirs(root)).toContain(small);
      await Bun.sleep(200);
      proc.kill("SIGKILL");
      await proc.exited;
      expect(filesUnder(join(root, "images/db"))).toEqual([]);
      expect(filesUnder(join(root, "refs"))).toEqual([]);
      const gets = blobGets(layeredSpec.layers[1]!.digest);
      const r = await box(root, ["pull", "-q", name()]);
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      expect(blobGets(layeredSpec.layers[1]!.digest)).toBe(gets);
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
      expect(readdirSync(join(root, "locks"))).toEqual([]);
    }));
});

describe("a compromised registry reaches the same unpacker", () => {
  test("a layer writing through its own symbolic link, or replacing a directory by a link out, changes nothing outside", () =>
    withRoot(async (root) => {
      const outside = tempDir("box-canary-");
      try {
        writeFileSync(join(outside, "target"), "host file");
        await run(["sh", "-c", `chmod 640 '${outside}/target' && touch -d @1000000 '${outside}/target' '${outside}'`]);
        const canary = async () => (await run(["stat", "-c", "%a %u %g %Y %s %h %n", outside, join(outside, "target")])).stdout;
        const before = await canary();
        const dir = join(work, "hostile");
        const base = alpineLayer();
        const evil = await entriesLayer([
          { name: "d/", type: "directory", mode: 0o777, uid: 4321, gid: 4321, mtime: new Date(9_000_000_000) },
          { name: "d", type: "symlink", linkname: outside },
          { name: "escape", type: "symlink", linkname: outside },
          { name: "escape/pwned", type: "file", body: "x", mode: 0o4777 },
        ], "gzip");
        writeLayout(dir, [{ layers: [base, evil], refName: "hostile:1" }]);
        await reg.push(`oci:${dir}:hostile:1`, "public/hostile:1");
        const r = await box(root, ["pull", `${reg.host}/public/hostile:1`]);
        expect(r.code).toBe(125);
        expect(r.stderr.trim().split("\n").pop()).toBe('box: refusing the archive entry "escape/pwned": it would be written through the symbolic link "escape"');
        expect(await canary()).toBe(before);
        expect(readdirSync(outside)).toEqual(["target"]);
        expect(filesUnder(join(root, "images/db"))).toEqual([]);
        expect(filesUnder(join(root, "tmp"))).toEqual([]);
      } finally {
        removeRoot(outside);
      }
    }));
});

describe("box pull on a terminal", () => {
  test("one line per layer, with bytes, rate and ETA, then Pull complete", () =>
    withRoot(async (root) => {
      let out = "";
      const proc = Bun.spawn([BOX, "--root", root, "pull", `${reg.host}/public/layered:1`], {
        env: { ...process.env, BOX_NETWORK: "none" },
        terminal: { cols: 160, rows: 20, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
      });
      expect(await proc.exited).toBe(0);
      proc.terminal?.close();
      // The last drawing: three layers (by their blob digests), each complete.
      const done = new Set([...out.matchAll(/([0-9a-f]{12}): Pull complete/g)].map((m) => m[1]));
      expect(done.size).toBe(3);
      expect(done).toContain(layeredSpec.layers[0]!.digest.slice(7, 19));
      expect(out).toMatch(/: Downloading \[[=> ]{24}\] [\d.]+[kMG]?B\/[\d.]+[kMG]?B [\d.]+[kMG]?B\/s ETA \d+s/);
      expect(out).toContain("\x1b[3A"); // redrawn in place
    }));
});

describe("cleanup", () => {
  test("every image pulled can be removed, leaving an empty store", () =>
    withRoot(async (root) => {
      expect((await box(root, ["pull", "-q", `${reg.host}/public/layered:1`])).code).toBe(0);
      expect((await box(root, ["rmi", `${reg.host}/public/layered:1`])).code).toBe(0);
      expectEmptyStore(root);
    }));
});
