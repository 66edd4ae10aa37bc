/**
 * An image of many layers becomes the container's root in one overlay (helper/overlay.c): with the
 * new mount API every layer is one "lowerdir+" option, so the count is overlayfs's own limit (500)
 * rather than what absolute paths fit in one page of mount options (about a hundred). The image is
 * an OCI layout built here and loaded with box load; the container is started by dist/box.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { box, tempDir, removeRoot, withRoot } from "../e2e/harness";
import { manyLayers } from "./layers";

async function withImage(n: number, body: (root: string) => Promise<void>): Promise<void> {
  const work = tempDir("box-layers-");
  try {
    await manyLayers(join(work, "oci"), n);
    await withRoot(async (root) => {
      const loaded = await box(root, ["load", "-i", join(work, "oci")], { timeoutMs: 120_000 });
      expect(loaded.stderr).toBe("");
      expect(loaded.stdout).toBe(`Loaded image: many:${n}\n`);
      await body(root);
      expect((await box(root, ["rmi", `many:${n}`])).code).toBe(0);
    });
  } finally {
    removeRoot(work);
  }
}

function runOn(n: number): Promise<void> {
  return withImage(n, async (root) => {
    const script = "cat /order; ls /layers | wc -l; test -e /gone || echo gone; cat /etc/alpine-release; grep -c '^overlay / overlay ' /proc/mounts";
    const r = await box(root, ["run", "--rm", `many:${n}`, "sh", "-c", script], { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${n - 1}\n${n - 1}\ngone\n3.20.3\n1\n`);
    expect(r.code).toBe(0);
    // The image's files were never written: a second container sees the same.
    const again = await box(root, ["run", "--rm", `many:${n}`, "cat", "/order"]);
    expect(again.stdout).toBe(`${n - 1}\n`);
  });
}

describe("helper: an overlay of many layers", () => {
  test("150 layers: the top one wins, a whiteout hides a lower file, the root is one overlay", () => runOn(150), 180_000);
  test("500 layers, as many as overlayfs stacks", () => runOn(500), 300_000);
  test("501 layers: one sentence, 125, nothing left", () =>
    withImage(501, async (root) => {
      const r = await box(root, ["run", "--rm", "many:501", "true"]);
      expect(r).toMatchObject({ code: 125, stdout: "", stderr: "box: the image has 501 layers: overlayfs stacks at most 500\n" });
    }), 300_000);
});
