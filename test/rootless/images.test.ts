/**
 * A user's own images: pulled from a registry on 127.0.0.1 (Debian's docker-registry, as
 * test/images starts it), imported from a tarball, listed and removed, all unpacked by box as root
 * of the user's namespace, so their files have the owners they have in containers: the layered
 * image's whiteouts and opaque directory work in the user's overlay (user.overlay.opaque,
 * userxattr).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeRoot, tempDir } from "../e2e/harness";
import { tarOf } from "../images/helpers";
import { layeredImage, writeLayout } from "../images/oci";
import { startRegistry, type TestRegistry } from "../images/registry";
import { expectUserClean, makeUser, rbox, removeUser, storeOf, type TestUser } from "./users";

let reg: TestRegistry;
let u: TestUser;
const work = tempDir("box-rootless-images-");

beforeAll(async () => {
  reg = await startRegistry();
  const dir = join(work, "layered");
  writeLayout(dir, [await layeredImage()]);
  await reg.push(`oci:${dir}:layered:1`, "public/layered:1");
  u = await makeUser({ subids: true });
}, 120_000);
afterAll(async () => {
  await reg.stop();
  await removeUser(u);
  removeRoot(work);
});

describe("rootless images", () => {
  test("box pull from a registry on 127.0.0.1: layers unpacked in the user's namespace; whiteouts and an opaque directory as the image means them", async () => {
    const ref = `${reg.host}/public/layered:1`;
    const pull = await rbox(u, ["pull", "-q", ref], { timeoutMs: 120_000 });
    expect(pull.code).toBe(0);
    const r = await rbox(u, ["run", ref, "sh", "-c", "cat /opt/app/data; ls /var/cache; test -e /etc/motd && echo motd || echo no-motd; test -e /opt/app/link || echo no-link; cat /etc/issue"]);
    expect(r).toMatchObject({ code: 0, stdout: "layer two\nnew\nno-motd\nno-link\nlayer three\n" });
    // On the host: the user's files (container root), opaque by user.overlay.opaque.
    const layers = join(storeOf(u), "images/layers");
    expect(readdirSync(layers).length).toBe(3);
    for (const l of readdirSync(layers)) expect(statSync(join(layers, l, "diff")).uid).toBe(u.uid);
    expect((await rbox(u, ["images"])).stdout).toMatch(new RegExp(`\\n${reg.host}/public/layered\\s+1\\s`));
    const rmi = await rbox(u, ["rmi", ref]);
    expect(rmi.code).toBe(0);
    // The layers went (files of the user's subordinate ids among them, removed as root of its namespace).
    expect(readdirSync(layers)).toEqual([]);
    await expectUserClean(u);
  }, 180_000);

  test("box import of a tarball with files of several owners, a device node and a trusted xattr: owners mapped, what only root may make left out", async () => {
    const tar = await tarOf([
      { name: "bin/", type: "directory", mode: 0o755 },
      { name: "home/", type: "directory", mode: 0o755 },
      { name: "home/app/", type: "directory", mode: 0o750, uid: 1000, gid: 1000 },
      { name: "home/app/notes", type: "file", mode: 0o600, uid: 1000, gid: 1000, body: "mine\n" },
      { name: "dev/", type: "directory", mode: 0o755 },
      { name: "dev/sda", type: "block-device", mode: 0o660, devmajor: 8, devminor: 0 },
      { name: "etc/", type: "directory", mode: 0o755, pax: { "SCHILY.xattr.trusted.box": "root's" } },
    ]);
    const file = join(work, "fs.tar");
    writeFileSync(file, tar);
    chmodSync(work, 0o755);
    chownSync(file, u.uid, u.gid);
    const imp = await rbox(u, ["import", file, "owners:1"]);
    expect(imp.code).toBe(0);
    const layers = join(storeOf(u), "images/layers");
    const diff = readdirSync(layers).map((l) => join(layers, l, "diff")).find((d) => existsSync(join(d, "home/app")))!;
    expect(statSync(join(diff, "home/app/notes")).uid).toBe(u.sub!.uid + 999);
    expect(statSync(join(diff, "home/app")).gid).toBe(u.sub!.gid + 999);
    expect(existsSync(join(diff, "dev/sda"))).toBe(false);
    expect((await rbox(u, ["rmi", "owners:1"])).code).toBe(0);
    expect(existsSync(diff)).toBe(false);
    await expectUserClean(u);
  }, 60_000);
});
