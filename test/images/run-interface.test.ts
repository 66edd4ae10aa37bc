// What box run gets from the image side: the image-or-command decision, the image with its
// layers and config, and files read through the layers (never outside them).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../../src/errors";
import { argvFor, envFor, imageForRun, readImageFile, resolveImageWord, statImagePath } from "../../src/image/run";
import { layoutFor } from "../../src/store/layout";
import { ALPINE_TARBALL, box, removeRoot, tempDir, withRoot } from "../e2e/harness";
import { alpineLayer, entriesLayer, layeredImage, writeLayout } from "./oci";

const work = tempDir("box-run-iface-");
afterAll(() => removeRoot(work));
const isDirectory = (p: string) => p === "/srv/rootfs";

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BoxError) return err.message;
    throw err;
  }
  return "";
}

describe("resolveImageWord: image or command", () => {
  test("every case of the rule", () =>
    withRoot(async (root) => {
      const layout = layoutFor(root);
      const r = (words: string[], extra = {}) => resolveImageWord(layout, words, { isDirectory, ...extra });
      expect(await r([])).toEqual({ kind: "default", word: "alpine:3.20.3", command: [] });
      expect(await r(["alpine"], { forcedCommand: true })).toEqual({ kind: "default", word: "alpine:3.20.3", command: ["alpine"] });
      expect(await r(["x", "y"], { rootfs: "/r" })).toEqual({ kind: "directory", path: "/r", command: ["x", "y"] });
      expect(await r(["/srv/rootfs", "sh"])).toEqual({ kind: "directory", path: "/srv/rootfs", command: ["sh"] });
      // Commands of the default image: paths, and names in its PATH (busybox applets are links).
      for (const words of [["sh", "-c", "true"], ["ls", "-la"], ["/bin/ls"], ["./script"], ["nslookup"]]) {
        expect(await r(words)).toEqual({ kind: "default", word: "alpine:3.20.3", command: words });
      }
      // The embedded tags, and references written as such.
      for (const w of ["alpine", "alpine:latest", "alpine:3.20", "docker.io/library/alpine", "python:3.12", "bitnami/redis", "ghcr.io/o/app@sha256:" + "a".repeat(64)]) {
        expect(await r([w, "cmd"])).toEqual({ kind: "image", word: w, command: ["cmd"] });
      }
      // A bare name that is no command: an image to pull, and the sentence will say both.
      expect(await r(["nginx", "-g", "daemon off;"])).toEqual({ kind: "image", word: "nginx", command: ["-g", "daemon off;"], orCommandIn: "alpine:3.20.3" });
      expect(await errorOf(r(["Nginx"]))).toBe("Nginx is neither an image here nor a command in alpine:3.20.3");
      // An image in the store wins over a command of the same name; so does its ID.
      expect((await box(root, ["import", ALPINE_TARBALL, "busybox"])).code).toBe(0);
      expect(await r(["busybox", "true"])).toEqual({ kind: "image", word: "busybox", command: ["true"] });
      const id = (await box(root, ["images", "-q", "--no-trunc", "busybox"])).stdout.trim();
      expect(await r([id.slice(7, 19)])).toEqual({ kind: "image", word: id.slice(7, 19), command: [] });
      expect(await r([id])).toEqual({ kind: "image", word: id, command: [] });
    }));
});

describe("imageForRun", () => {
  test("the embedded Alpine, a loaded multi-layer image (layers top first, config), pull policies and their sentences", () =>
    withRoot(async (root) => {
      const layout = layoutFor(root);
      const a = await imageForRun(layout, "alpine", "missing");
      expect(a).toMatchObject({ name: "alpine", config: { Cmd: ["/bin/sh"], Env: [expect.stringMatching(/^PATH=/)] } });
      expect(a.id).toStartWith("sha256:981d376b08da");
      expect(a.layers).toEqual([join(root, "images/l", a.shortLayers[0]!)]);
      expect(a.layerRoot).toBe(join(root, "images/l"));
      const dir = join(work, "layered");
      const spec = await layeredImage();
      writeLayout(dir, [spec]);
      expect((await box(root, ["load", "-i", dir])).code).toBe(0);
      const l = await imageForRun(layout, "layered:1", "never");
      expect(l.layers.length).toBe(3);
      expect(l.config).toMatchObject({ WorkingDir: "/opt/app", Labels: { test: "layered" } });
      // Top first: the top layer has /etc/issue, the bottom one Alpine's release file.
      expect(readImageFile({ layers: [l.layers[0]!] }, "/etc/issue")?.toString()).toBe("layer three\n");
      expect(readImageFile({ layers: [l.layers[2]!] }, "/etc/alpine-release")?.toString()).toBe("3.20.3\n");
      expect(await errorOf(imageForRun(layout, "nginx", "never", { orCommandIn: "alpine:3.20.3" }))).toBe("nginx is not an image here (box pull nginx) nor a command in alpine:3.20.3");
      expect(await errorOf(imageForRun(layout, "nginx:1", "never"))).toBe("nginx:1 is not an image here (box pull nginx:1)");
      expect(await errorOf(imageForRun(layout, "127.0.0.1:9/nginx", "missing", { orCommandIn: "alpine:3.20.3" }))).toBe(
        "127.0.0.1:9/nginx is not a command in alpine:3.20.3, and pulling it as an image failed: cannot reach 127.0.0.1:9: connection refused (for 127.0.0.1:9/nginx:latest)",
      );
      expect(await errorOf(imageForRun(layout, "127.0.0.1:9/nginx:2", "always"))).toBe("127.0.0.1:9/nginx:2 is not an image here, and pulling it failed: cannot reach 127.0.0.1:9: connection refused (for 127.0.0.1:9/nginx:2)");
    }));
});

describe("readImageFile: through the layers, never outside them", () => {
  test("the top layer wins, whiteouts and opaque directories hide, links resolve inside the image", () =>
    withRoot(async (root) => {
      const layout = layoutFor(root);
      const dir = join(work, "users");
      const base = alpineLayer();
      const two = await entriesLayer([
        { name: "etc/", type: "directory", mode: 0o755 },
        { name: "etc/passwd", type: "file", body: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" },
        { name: "etc/group.real", type: "file", body: "root:x:0:\napp:x:1000:\n" },
        { name: "etc/.wh.group", type: "file" },
        { name: "etc/.wh.shadow", type: "file" },
        { name: "data/", type: "directory", mode: 0o755 },
        { name: "data/old", type: "file", body: "old" },
      ], "gzip");
      const three = await entriesLayer([
        { name: "etc/", type: "directory", mode: 0o755 },
        { name: "etc/group", type: "symlink", linkname: "/etc/group.real" },
        { name: "etc/climb", type: "symlink", linkname: "../../../../../../etc/hostname" },
        { name: "etc/magic", type: "symlink", linkname: "/proc/self/root/etc/passwd" },
        { name: "etc/loop1", type: "symlink", linkname: "loop2" },
        { name: "etc/loop2", type: "symlink", linkname: "loop1" },
        { name: "lib2", type: "symlink", linkname: "data" },
        { name: "data/", type: "directory", mode: 0o755 },
        { name: "data/.wh..wh..opq", type: "file" },
        { name: "data/new", type: "file", body: "new" },
      ], "none");
      writeLayout(dir, [{ layers: [base, two, three], refName: "users:1" }]);
      expect((await box(root, ["load", "-i", dir])).code).toBe(0);
      const img = await imageForRun(layout, "users:1", "never");
      const read = (p: string) => readImageFile(img, p)?.toString();
      expect(read("/etc/passwd")).toContain("app:x:1000");
      expect(read("/etc/group")).toBe("root:x:0:\napp:x:1000:\n");
      expect(read("/etc/shadow")).toBeUndefined(); // Alpine has one; a whiteout hides it
      expect(read("/data/old")).toBeUndefined(); // hidden by the opaque directory above
      expect(read("/data/new")).toBe("new");
      expect(read("/lib2/new")).toBe("new");
      expect(read("/etc/climb")).toBe(read("/etc/hostname")); // the image's, not the host's
      expect(read("/etc/alpine-release")).toBe("3.20.3\n");
      expect(read("/etc/magic")).toBeUndefined(); // no /proc in an image: the link leads nowhere
      expect(() => read("/etc/loop1")).toThrow("goes through more than 40 symbolic links");
      expect(() => read("/etc")).toThrow("/etc in the image is not a regular file");
      expect(statImagePath(img, "/bin/sh")?.type).toBe("file");
      mkdirSync(join(work, "unused"), { recursive: true });
    }));
});

describe("argvFor, envFor: the image's defaults under the command line", () => {
  test("docker's rules for ENTRYPOINT, CMD and the environment", () => {
    const c = { Entrypoint: ["/init"], Cmd: ["serve", "--port", "80"], Env: ["PATH=/usr/bin", "A=1"] };
    expect(argvFor(c, [])).toEqual(["/init", "serve", "--port", "80"]);
    expect(argvFor(c, ["sh"])).toEqual(["/init", "sh"]);
    expect(argvFor(c, [], "/bin/sh")).toEqual(["/bin/sh"]);
    expect(argvFor(c, ["-c", "x"], "/bin/sh")).toEqual(["/bin/sh", "-c", "x"]);
    expect(argvFor(c, ["ls"], "")).toEqual(["ls"]);
    expect(argvFor({ Cmd: ["/bin/sh"] }, [])).toEqual(["/bin/sh"]);
    expect(argvFor({}, [])).toEqual([]);
    expect(envFor(c, ["A=2", "B=3"])).toEqual(["PATH=/usr/bin", "A=2", "B=3"]);
    expect(envFor({}, [])).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });
});
