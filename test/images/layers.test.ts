// Layered images: box load of OCI layouts and of archives made by skopeo and podman, box save
// read back by podman and skopeo, what a container sees of layers (whiteouts, opaque directories,
// hard links, setuid, xattrs), layers shared and freed, an older store moved over, damaged state.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE_TARBALL, box, removeRoot, run, tempDir, withRoot } from "../e2e/harness";
import { readImageFile } from "../../src/image/run";
import { blobs, EMBEDDED_DIFF, EMBEDDED_ID_PREFIX, expectEmptyStore, filesUnder, images, inspect, layerDiffDir, layerDirs, layeredView, PROBE, SEEN, seen } from "./helpers";
import { alpineLayer, entriesLayer, layeredImage, sha, writeLayout } from "./oci";

const work = tempDir("box-layers-");
afterAll(() => removeRoot(work));

/** podman with a store of its own (nothing of the machine's podman is touched). */
function podman(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(["podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "vfs", "--events-backend", "none", ...args], { timeoutMs: 60_000 });
}


describe("box load", () => {
  test("an OCI layout of three layers (gzip, zstd, plain): the container sees whiteouts, opaque directories, hard links, setuid", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-1");
      const spec = await layeredImage();
      const [built] = writeLayout(dir, [spec]);
      const r = await box(root, ["load", "-i", dir]);
      expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: "Loaded image: layered:1\n", err: "" });
      expect((await images(root)).map((i) => `${i.Repository}:${i.Tag} ${i.ID}`)).toEqual([`layered:1 ${built!.configDigest}`]);
      expect(await seen(root, "layered:1", PROBE, layeredView)).toBe(SEEN);
      // Each layer once, by diffID; the whiteout and the opaque marker as overlay wants them.
      expect(layerDirs(root)).toEqual(spec.layers.map((l) => l.diffID.slice(7)).sort());
      const two = layerDiffDir(root, spec.layers[1]!.diffID.slice(7));
      const three = layerDiffDir(root, spec.layers[2]!.diffID.slice(7));
      const wh = await run(["stat", "-c", "%F %t:%T", join(two, "etc/motd")]);
      expect(wh.stdout).toBe("character special file 0:0\n");
      const opq = await run(["python3", "-c", `import os; print(os.getxattr(${JSON.stringify(join(three, "var/cache"))}, "trusted.overlay.opaque").decode())`]);
      expect(opq.stdout).toBe("y\n");
      const xattr = await run(["python3", "-c", `import os; print(os.getxattr(${JSON.stringify(join(two, "opt/app/data"))}, "user.box").decode())`]);
      expect(xattr.stdout).toBe("kept\n");
      // The config, as docker's image inspect shows it.
      const doc = await inspect(root, "layered:1");
      expect(doc).toMatchObject({
        Id: built!.configDigest,
        RepoTags: ["layered:1"],
        Architecture: "amd64",
        Os: "linux",
        Created: "2025-01-02T03:04:05Z",
        RootFS: { Type: "layers", Layers: spec.layers.map((l) => l.diffID) },
      });
      expect(doc.Config).toMatchObject({ WorkingDir: "/opt/app", Cmd: ["/bin/sh"], Labels: { test: "layered" }, Entrypoint: null });
      expect(doc.Config.Env).toContain("LAYERED=yes");
      // The embedded Alpine is the same base layer: shared, not stored twice.
      expect((await box(root, ["run", "true"])).code).toBe(0);
      expect(layerDirs(root).length).toBe(3);
      expect(layerDirs(root)).toContain(EMBEDDED_DIFF);
    }));

  test("several images in one layout, names from it; a multi-platform index gives its linux/amd64 image", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-2");
      const base = alpineLayer();
      const extra = await entriesLayer([{ name: "which", type: "file", body: "second\n" }], "gzip");
      writeLayout(dir, [
        { layers: [base], refName: "first:1" },
        { layers: [base, extra], refName: "docker.io/acme/second:2" },
      ]);
      const r = await box(root, ["load", "-i", dir]);
      expect(r.stdout).toBe("Loaded image: first:1\nLoaded image: acme/second:2\n");
      expect(await seen(root, "acme/second:2", "cat /which", (img) => readImageFile(img, "/which")!.toString())).toBe("second\n");
      const multi = join(work, "layout-3");
      const amd = await entriesLayer([{ name: "arch", type: "file", body: "amd64\n" }], "gzip");
      const arm = await entriesLayer([{ name: "arch", type: "file", body: "arm64\n" }], "gzip");
      writeLayout(multi, [{ layers: [base, arm], architecture: "arm64" }, { layers: [base, amd] }], { multiPlatform: { refName: "multi:1" } });
      expect((await box(root, ["load", "-i", multi])).stdout).toBe("Loaded image: multi:1\n");
      expect(await seen(root, "multi:1", "cat /arch", (img) => readImageFile(img, "/arch")!.toString())).toBe("amd64\n");
      const noAmd = join(work, "layout-4");
      writeLayout(noAmd, [{ layers: [base, arm], architecture: "arm64" }, { layers: [base, arm], architecture: "arm" }], { multiPlatform: { refName: "arm:1" } });
      const refused = await box(root, ["load", "-i", noAmd]);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toMatch(/^box: the index sha256:[0-9a-f]{64} in .* has no linux\/amd64 image: it offers linux\/arm64, linux\/arm\/v7\n$/);
    }));

  test("archives written by skopeo (docker-archive, oci-archive) and podman save (both formats), compressed or not", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-5");
      // docker-archive has no zstd: skopeo would have to recompress, which changes nothing box sees.
      const [built] = writeLayout(dir, [await layeredImage({ zstd: false })]);
      const archives = [join(work, "s-docker.tar"), join(work, "s-oci.tar")];
      for (const [a, t] of [[archives[0]!, "docker-archive"], [archives[1]!, "oci-archive"]] as const) {
        const s = await run(["skopeo", "copy", "-q", `oci:${dir}:layered:1`, `${t}:${a}:${t === "docker-archive" ? "docker.io/library/layered:1" : "layered:1"}`], { timeoutMs: 60_000 });
        expect({ t, code: s.code, err: s.stderr }).toEqual({ t, code: 0, err: "" });
      }
      const pod = join(work, "podman-1");
      expect((await podman(pod, "load", "-q", "-i", archives[0]!)).code).toBe(0);
      for (const [fmt, file] of [["docker-archive", "p-docker.tar"], ["oci-archive", "p-oci.tar"]] as const) {
        const s = await podman(pod, "save", "-q", "--format", fmt, "-o", join(work, file), "docker.io/library/layered:1");
        expect({ fmt, code: s.code, err: s.stderr }).toEqual({ fmt, code: 0, err: "" });
        archives.push(join(work, file));
      }
      await run(["sh", "-c", `gzip -c ${archives[0]} > ${archives[0]}.gz && zstd -qc ${archives[1]} > ${archives[1]}.zst`]);
      archives.push(`${archives[0]}.gz`, `${archives[1]}.zst`);
      for (const a of archives) {
        const r = await box(root, ["load", "-i", a]);
        expect({ a, code: r.code, out: r.stdout, err: r.stderr }).toEqual({ a, code: 0, out: "Loaded image: layered:1\n", err: "" });
        expect({ a, id: (await images(root))[0]?.ID }).toEqual({ a, id: built!.configDigest });
      }
      // Also from stdin.
      const piped = await box(root, ["load"], { stdin: readFileSync(archives[2]!) });
      expect(piped.stdout).toBe("Loaded image: layered:1\n");
      expect(await seen(root, "layered:1", PROBE, layeredView)).toBe(SEEN);
      expect(layerDirs(root).length).toBe(3);
    }));

  test("bad archives: not a tar, no manifest, a layer that lies about its content; nothing is left", () =>
    withRoot(async (root) => {
      writeFileSync(join(work, "text"), "not an archive".repeat(100));
      const notTar = await box(root, ["load", "-i", join(work, "text")]);
      expect(notTar).toMatchObject({ code: 125, stderr: `box: ${join(work, "text")} is not an image archive box can load: it is not a tar archive\n` });
      const empty = join(work, "empty.tar");
      await run(["tar", "-cf", empty, "-C", work, "text"]);
      const none = await box(root, ["load", "-i", empty]);
      expect(none.stderr).toBe(`box: ${empty} is not an image archive box can load: it has neither manifest.json (docker save) nor index.json (OCI)\n`);
      // A layer blob replaced by another one: its digest no longer matches the manifest.
      const dir = join(work, "layout-lie");
      const spec = await layeredImage();
      writeLayout(dir, [spec]);
      writeFileSync(join(dir, "blobs/sha256", spec.layers[2]!.digest.slice(7)), Buffer.from(spec.layers[1]!.blob));
      const lie = await box(root, ["load", "-i", dir]);
      expect(lie.code).toBe(125);
      expect(lie.stderr).toContain(`the layer blob ${spec.layers[2]!.digest} does not match its digest or size`);
      // A config whose diffID is not what the layer holds.
      const dir2 = join(work, "layout-lie2");
      const spec2 = await layeredImage();
      spec2.layers[2] = { ...spec2.layers[2]!, diffID: spec2.layers[1]!.diffID.replace(/.$/, "0") };
      writeLayout(dir2, [spec2]);
      const lie2 = await box(root, ["load", "-i", dir2]);
      expect(lie2.code).toBe(125);
      expect(lie2.stderr).toMatch(/does not match its diffID sha256:[0-9a-f]{64} \(its content is sha256:[0-9a-f]{64}\): refusing it\n$/);
      for (const sub of ["refs", "tmp", "locks"]) expect({ sub, files: filesUnder(join(root, sub)) }).toEqual({ sub, files: [] });
      expect(filesUnder(join(root, "images/db"))).toEqual([]);
    }));

  test("two loads of one archive at once: both succeed, each layer unpacked once", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-6");
      writeLayout(dir, [await layeredImage()]);
      const [a, b] = await Promise.all([box(root, ["load", "-i", dir]), box(root, ["load", "-i", dir])]);
      expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, "", ""]);
      expect(layerDirs(root).length).toBe(3);
      expect(readdirSync(join(root, "images/l")).length).toBe(3);
    }));
});

describe("box save", () => {
  test("round trips through podman load and skopeo, and back into box; several images in one archive", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-7");
      const [built] = writeLayout(dir, [await layeredImage()]);
      expect((await box(root, ["load", "-i", dir])).code).toBe(0);
      expect((await box(root, ["run", "true"])).code).toBe(0);
      const alpineId = (await images(root)).find((i) => i.Repository === "alpine")!.ID;
      const out = join(work, "saved.tar");
      const s = await box(root, ["save", "-o", out, "layered:1", "alpine:3.20.3"]);
      expect({ code: s.code, out: s.stdout, err: s.stderr }).toEqual({ code: 0, out: "", err: "" });
      expect(readdirSync(work).filter((f) => f.startsWith("saved.tar.tmp-"))).toEqual([]);
      // podman reads it (docker-archive), with both names.
      const pod = join(work, "podman-2");
      const loaded = await podman(pod, "load", "-i", out);
      expect(loaded.code).toBe(0);
      const listed = await podman(pod, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}");
      expect(listed.stdout.trim().split("\n").sort()).toEqual([`docker.io/library/alpine:3.20.3 ${alpineId.slice(7, 19)}`, `docker.io/library/layered:1 ${built!.configDigest.slice(7, 19)}`]);
      // skopeo reads it both ways: as a docker archive and as an OCI archive.
      const d = await run(["skopeo", "inspect", "--raw", "--config", `docker-archive:${out}:docker.io/library/layered:1`]);
      expect(sha(Buffer.from(d.stdout))).toBe(built!.configDigest);
      const o = await run(["skopeo", "inspect", `oci-archive:${out}:1`]);
      expect({ code: o.code, err: o.stderr }).toEqual({ code: 0, err: "" });
      expect(JSON.parse(o.stdout).Layers.length).toBe(3);
      // And box loads it back: the same images.
      await withRoot(async (other) => {
        expect((await box(other, ["load", "-i", out])).stdout).toBe("Loaded image: layered:1\nLoaded image: alpine:3.20.3\n");
        expect((await images(other)).map((i) => i.ID).sort()).toEqual([alpineId, built!.configDigest].sort());
        expect(await seen(other, "layered:1", PROBE, layeredView)).toBe(SEEN);
      });
      // To stdout too.
      const piped = await run(["sh", "-c", `'${join(import.meta.dir, "../../dist/box")}' --root '${root}' save layered:1 | tar -t | sort`]);
      expect(piped.stdout).toContain("manifest.json\n");
    }));

  test("an unknown image, or an image an older box stored without its archive: refused, no file left", () =>
    withRoot(async (root) => {
      const out = join(work, "never.tar");
      const r = await box(root, ["save", "-o", out, "nothing:here"]);
      expect(r).toMatchObject({ code: 125, stderr: "box: no such image: nothing:here\n" });
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(work).filter((f) => f.startsWith("never.tar"))).toEqual([]);
    }));
});

describe("box import", () => {
  test("refuses a docker save or OCI archive, pointing at box load, and stores nothing", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-8");
      writeLayout(dir, [{ layers: [alpineLayer()], refName: "x:1" }]);
      const archive = join(work, "for-import.tar");
      expect((await run(["skopeo", "copy", "-q", `oci:${dir}:x:1`, `docker-archive:${archive}:x:1`])).code).toBe(0);
      const r = await box(root, ["import", archive, "x"]);
      expect(r).toMatchObject({ code: 125, stderr: `box: ${archive} is an image archive (docker save or OCI), not a root filesystem: load it with box load -i ${archive}\n` });
      const oci = join(work, "for-import-oci.tar");
      await run(["tar", "-cf", oci, "-C", dir, "."]);
      expect((await box(root, ["import", oci, "x"])).stderr).toContain("load it with box load -i");
      expectEmptyStore(root);
    }));

  test("--change sets CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL, as docker import -c", () =>
    withRoot(async (root) => {
      const changes = [
        'CMD ["/bin/echo", "hi"]',
        "ENTRYPOINT /bin/sh -c",
        'ENV A=1 B="two words"',
        "ENV C 3",
        "WORKDIR /srv",
        "USER nobody",
        "EXPOSE 8080 53/udp",
        "LABEL org.example=yes",
        "STOPSIGNAL SIGINT",
      ];
      const r = await box(root, ["import", ...changes.flatMap((c) => ["--change", c]), ALPINE_TARBALL, "changed"]);
      expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
      const doc = await inspect(root, "changed");
      expect(doc.Config).toMatchObject({
        Cmd: ["/bin/echo", "hi"],
        Entrypoint: ["/bin/sh", "-c", "/bin/sh -c"],
        Env: ["A=1", "B=two words", "C=3"],
        WorkingDir: "/srv",
        User: "nobody",
        ExposedPorts: { "8080/tcp": {}, "53/udp": {} },
        Labels: { "org.example": "yes" },
        StopSignal: "SIGINT",
      });
      // The same file with the same changes is the same image.
      const again = await box(root, ["import", ...changes.flatMap((c) => ["-c", c]), ALPINE_TARBALL, "again"]);
      expect(again.stdout).toBe(r.stdout);
      const bad = await box(root, ["import", "-c", "RUN make", ALPINE_TARBALL, "bad"]);
      expect(bad).toMatchObject({ code: 125, stderr: 'box: invalid --change "RUN make": use CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL or VOLUME followed by its value\n' });
      expect((await box(root, ["import", "-c", "EXPOSE http", ALPINE_TARBALL, "bad"])).stderr).toBe('box: invalid --change "EXPOSE http": "http" is not a port (80, 53/udp)\n');
    }));
});

describe("the store", () => {
  test("box rmi frees the layers and blobs no image uses; a layer two images share stays", () =>
    withRoot(async (root) => {
      const dir = join(work, "layout-9");
      const spec = await layeredImage();
      writeLayout(dir, [spec]);
      expect((await box(root, ["load", "-i", dir])).code).toBe(0);
      expect((await box(root, ["run", "true"])).code).toBe(0); // the embedded Alpine: the same base layer
      const r = await box(root, ["rmi", "layered:1"]);
      expect(r.stdout).toMatch(/^Untagged: layered:1\nDeleted: sha256:[0-9a-f]{64}\n$/);
      expect(layerDirs(root)).toEqual([EMBEDDED_DIFF]);
      expect(readdirSync(join(root, "images/l")).length).toBe(1);
      // Left: the base layer's blob (kept by the layer), the embedded image's config.
      expect(blobs(root).length).toBe(2);
      const r2 = await box(root, ["rmi", "alpine:3.20.3"]);
      expect(r2.stdout).toMatch(/^Untagged: alpine:3.20.3\nDeleted: sha256:981d376b08da/);
      expectEmptyStore(root);
    }));

  test("an older box's store is moved over once: names, images and running from them keep working", () =>
    withRoot(async (root) => {
      // The old layout: images/<sha256 of the archive>/{rootfs,image.json}, refs/<name>:<tag>.
      const legacy = [
        ["d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c", ALPINE_TARBALL, "alpine:3.20.3"],
        ["a2a87004e87720cbb0372c08b7de9b80748afdfd7fd72d2eab2ec0b074b92211", join(ALPINE_TARBALL, "../../../shared/fixtures/alpine/alpine-minirootfs-3.19.4-x86_64.tar.gz"), "mine:1"],
      ] as const;
      mkdirSync(join(root, "refs"), { recursive: true });
      for (const [digest, tarball, name] of legacy) {
        const dir = join(root, "images", digest);
        mkdirSync(join(dir, "rootfs"), { recursive: true });
        expect((await run(["tar", "-xzf", existsSync(tarball) ? tarball : join("/work/shared/fixtures/alpine", tarball.split("/").pop()!), "-C", join(dir, "rootfs")])).code).toBe(0);
        writeFileSync(join(dir, "image.json"), JSON.stringify({ digest, source: "import:old", created: "2025-01-01T00:00:00.000Z", size: 1 }));
        writeFileSync(join(root, "refs", name), digest + "\n");
      }
      writeFileSync(join(root, "refs", "mine:1.tmp-abcdef"), "leftover");
      const list = await images(root);
      expect(list.map((i) => `${i.Repository}:${i.Tag}`).sort()).toEqual(["alpine:3.20.3", "mine:1"]);
      // The embedded one becomes exactly what a fresh store makes of it.
      expect(list.find((i) => i.Repository === "alpine")!.ID).toStartWith(`sha256:${EMBEDDED_ID_PREFIX}`);
      expect(readdirSync(join(root, "images")).filter((f) => /^[0-9a-f]{64}$/.test(f))).toEqual([]);
      expect((await box(root, ["run", "mine:1", "cat", "/etc/alpine-release"])).stdout).toBe("3.19.4\n");
      expect((await box(root, ["run", "cat", "/etc/alpine-release"])).stdout).toBe("3.20.3\n");
      expect(layerDirs(root).length).toBe(2);
      const out = join(work, "legacy.tar");
      expect((await box(root, ["save", "-o", out, "alpine:3.20.3"])).code).toBe(0);
      const old = await box(root, ["save", "-o", out, "mine:1"]);
      expect(old.stderr).toMatch(/was stored by an older box, which did not keep its archive: remove the image and bring it in again to save it\n$/);
      rmSync(out, { force: true });
    }));

  test("damaged state: a garbage name file, a config that does not match its digest, a record missing a layer; listed and removable, never a crash", () =>
    withRoot(async (root) => {
      expect((await box(root, ["import", ALPINE_TARBALL, "good"])).code).toBe(0);
      expect((await box(root, ["import", "-c", "CMD x", ALPINE_TARBALL, "hurt"])).code).toBe(0);
      const hurt = (await images(root)).find((i) => i.Repository === "hurt")!.ID;
      writeFileSync(join(root, "images/blobs/sha256", hurt.slice(7)), "{ not the config }");
      writeFileSync(join(root, "refs/docker.io%2Flibrary%2Fgarbage:1"), "no digest here");
      writeFileSync(join(root, "refs/docker.io%2Flibrary%2Fgood:latest.tmp-123456"), "sha256:" + "0".repeat(64));
      const r = await box(root, ["images"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\nhurt\s+latest\s+[0-9a-f]{12}\s+N\/A\s+damaged\n/);
      expect(r.stdout).toMatch(/\ngood\s+latest\s+/);
      expect(r.stderr).toContain("is damaged (its config is missing or damaged): remove it with box rmi");
      expect(r.stderr).toContain("docker.io%2Flibrary%2Fgarbage:1 is damaged: remove it");
      expect((await box(root, ["run", "good", "true"])).code).toBe(0);
      const run2 = await box(root, ["run", "hurt", "true"]);
      expect(run2.code).toBe(125);
      expect(run2.stderr).toBe("box: the image hurt is damaged (its config is missing or damaged): remove it with box rmi hurt\n");
      expect((await box(root, ["rmi", "hurt"])).code).toBe(0);
      expect((await images(root)).map((i) => i.Repository)).toEqual(["good"]);
    }));
});
