// The embedded image: unpacked once, exactly, into the store; containers run on an overlay over it.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ALPINE_TARBALL, BOX, box, run, scopeEnv, tempDir, removeRoot, withRoot } from "./harness";

/** The embedded tarball's sha256, its tar's (the layer's diffID), and the image ID box gives it. */
const DIGEST = "d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c";
const DIFF = "1bccf10afce5c1ffe31381419930ad565c1436eaeb1ca680494b0663e0028419";
const ID_PREFIX = "981d376b08da";

/** Every entry of a tree with type, mode, owner, size and link target, as `find -printf` lists it. */
async function listing(dir: string): Promise<string[]> {
  const out = await run(["sh", "-c", `cd '${dir}' && find . -printf '%y %m %U:%G %s %l %n %p\\n' | sort -k7`]);
  return out.stdout.trim().split("\n");
}

describe("box images: the embedded Alpine", () => {
  test("is unpacked exactly as GNU tar unpacks it: modes, owners, sizes, symlink targets (absolute ones too)", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "true"])).code).toBe(0);
      const stored = join(root, "images/layers", DIFF, "diff");
      const ref = tempDir("box-gnutar-");
      try {
        expect((await run(["tar", "-xzf", ALPINE_TARBALL, "-C", ref, "--numeric-owner", "--same-permissions"])).code).toBe(0);
        const [a, b] = [await listing(stored), await listing(ref)];
        expect(a.length).toBeGreaterThan(400);
        expect(a).toEqual(b);
        // The busybox applet links keep their absolute target.
        expect(a).toContain("l 777 0:0 12 /bin/busybox 1 ./bin/sh");
        // Times too: a file's mtime is the archive's.
        expect(statSync(join(stored, "etc/alpine-release")).mtimeMs).toBe(statSync(join(ref, "etc/alpine-release")).mtimeMs);
      } finally {
        removeRoot(ref);
      }
    }));

  test("is unpacked once: later runs reuse the stored image untouched", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "true"])).code).toBe(0);
      const stored = join(root, "images/layers", DIFF);
      const before = statSync(join(stored, "diff")).ino;
      const meta = JSON.parse(readFileSync(join(stored, "layer.json"), "utf8"));
      expect(meta).toEqual({
        diffID: `sha256:${DIFF}`,
        size: expect.any(Number),
        tarSize: 8089600,
        blob: { digest: `sha256:${DIGEST}`, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: statSync(ALPINE_TARBALL).size },
        short: expect.stringMatching(/^[A-Z2-7]{10}$/),
        created: expect.any(String),
        newest: 1725622445,
      });
      expect(readFileSync(join(root, "refs/docker.io%2Flibrary%2Falpine:3.20.3"), "utf8")).toStartWith(`sha256:${ID_PREFIX}`);
      expect((await box(root, ["run", "sh", "-c", "echo x > /etc/new; rm -rf /usr/share"])).code).toBe(0);
      expect(statSync(join(stored, "diff")).ino).toBe(before);
      expect(existsSync(join(stored, "diff/etc/new"))).toBe(false);
      expect(existsSync(join(stored, "diff/usr/share/apk"))).toBe(true);
      expect(readdirSync(join(root, "images/layers"))).toEqual([DIFF]);
    }));

  test("two containers on the same image do not see each other's writes", () =>
    withRoot(async (root) => {
      const a = Bun.spawn([BOX, "--root", root, "run", "sh", "-c", "echo from-a > /shared; sleep 0.5; cat /shared"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BOX_NETWORK: "none", ...scopeEnv() } });
      await Bun.sleep(150);
      const b = await box(root, ["run", "sh", "-c", "cat /shared 2>&1; echo from-b > /shared; cat /shared"]);
      expect(b.stdout).toBe("cat: can't open '/shared': No such file or directory\nfrom-b\n");
      expect(await new Response(a.stdout).text()).toBe("from-a\n");
      expect(await a.exited).toBe(0);
    }));

  test("several first runs at once on a fresh store all succeed, and one image is kept", () =>
    withRoot(async (root) => {
      const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => box(root, ["run", "echo", `run-${i}`])));
      runs.forEach((r, i) => expect({ i, code: r.code, out: r.stdout, err: r.stderr }).toEqual({ i, code: 0, out: `run-${i}\n`, err: "" }));
      expect(readdirSync(join(root, "images/layers"))).toEqual([DIFF]);
      expect(readdirSync(join(root, "images/db"))).toEqual([expect.stringMatching(new RegExp(`^${ID_PREFIX}`))]);
    }));

  test("the executable carries its image: a copy elsewhere, with no fixtures around, runs offline", () =>
    withRoot(async (root) => {
      const dir = tempDir("box-copy-");
      try {
        copyFileSync(BOX, join(dir, "box"));
        const r = await run([join(dir, "box"), "--root", root, "run", "cat", "/etc/alpine-release"], { env: { PATH: "/usr/bin:/bin" } });
        expect(r.stdout).toBe("3.20.3\n");
      } finally {
        removeRoot(dir);
      }
    }));
});

describe("box run --rootfs: a directory as the root", () => {
  test("runs on the directory in place (by --rootfs or as IMAGE), writes land in it, and nothing is mounted on the host", () =>
    withRoot(async (root) => {
      const dir = tempDir("box-rootfs-");
      try {
        expect((await run(["tar", "-xzf", ALPINE_TARBALL, "-C", dir])).code).toBe(0);
        const a = await box(root, ["run", "--rootfs", dir, "sh", "-c", "cat /etc/alpine-release; echo hi > /written"]);
        expect(a.stdout).toBe("3.20.3\n");
        expect(readFileSync(join(dir, "written"), "utf8")).toBe("hi\n");
        const b = await box(root, ["run", dir, "cat", "/written"]);
        expect(b.stdout).toBe("hi\n");
        // Its /etc/hostname is the container's, bound over the file: the directory's own is unchanged.
        const before = readFileSync(join(dir, "etc/hostname"), "utf8");
        const c = await box(root, ["run", "--hostname", "inplace", dir, "cat", "/etc/hostname"]);
        expect(c.stdout).toBe("inplace\n");
        expect(readFileSync(join(dir, "etc/hostname"), "utf8")).toBe(before);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dir);
      } finally {
        removeRoot(dir);
      }
    }));

  test("a rootfs whose /proc is a symlink to a host path is refused, and the host path is untouched", () =>
    withRoot(async (root) => {
      const dir = tempDir("box-rootfs-");
      const target = tempDir("box-target-");
      try {
        mkdirSync(join(dir, "bin"));
        writeFileSync(join(target, "marker"), "host");
        await run(["ln", "-s", target, join(dir, "proc")]);
        const r = await box(root, ["run", "--rootfs", dir, "/bin/true"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toContain("/proc");
        expect(readdirSync(target)).toEqual(["marker"]);
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(target);
      } finally {
        removeRoot(dir);
        removeRoot(target);
      }
    }));
});
