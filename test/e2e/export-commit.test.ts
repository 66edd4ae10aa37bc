// box export and box commit through dist/box: a container's filesystem out as a tar that box import
// reads back, its changes as a new layer (whiteouts and opaque directories as OCI's) on its image,
// its config carried over, and the image saved and loaded elsewhere.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, run, tempDir, withRoot } from "./harness";

/** Changes of every kind: added, changed, deleted, a directory replaced (opaque), a link, setuid, owners. */
const CHANGES =
  "echo added > /added && chown 12:34 /added && chmod 4711 /added && echo changed >> /etc/motd && rm /etc/issue && " +
  "rm -rf /etc/apk && mkdir /etc/apk && echo only > /etc/apk/only && ln -s /added /link && mkdir -p /w";
const CHECK = "stat -c '%A %u %g' /added; cat /added; tail -1 /etc/motd; ls /etc/issue 2>&1; ls /etc/apk; readlink /link";
const EXPECTED = "-rws--x--x 12 34\nadded\nchanged\nls: /etc/issue: No such file or directory\nonly\n/added\n";

describe("box export", () => {
  test("the container's filesystem as a tar; box import reads it back the same; stdout and -o give the same bytes", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "c", "sh", "-c", CHANGES])).code).toBe(0);
      const dir = tempDir("box-export-");
      try {
        const file = join(dir, "c.tar");
        expect(await box(root, ["export", "-o", file, "c"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
        const out = await box(root, ["export", "c"]);
        expect(Buffer.from(out.out).equals(readFileSync(file))).toBe(true);
        const names = (await run(["tar", "-tf", file])).stdout.split("\n");
        expect(names).toContain("etc/apk/only");
        expect(names).not.toContain("etc/issue");
        expect(names).not.toContain("etc/apk/world");
        expect(names.some((n) => n.includes(".wh."))).toBe(false);
        expect((await box(root, ["import", file, "exported:1"])).code).toBe(0);
        expect(await box(root, ["run", "--rm", "exported:1", "sh", "-c", CHECK])).toMatchObject({ code: 0, stdout: EXPECTED });
        // A running container exports the same way, without its mounts.
        const id = (await box(root, ["run", "-d", "-v", `${dir}:/mnt`, "sh", "-c", "echo live > /live; sleep 60"])).stdout.trim();
        for (let i = 0; i < 50 && !(await box(root, ["exec", id, "cat", "/live"])).stdout; i++) await Bun.sleep(20);
        const live = await box(root, ["export", "-o", join(dir, "live.tar"), id]);
        expect(live.code).toBe(0);
        const liveNames = (await run(["tar", "-tf", join(dir, "live.tar")])).stdout.split("\n");
        expect(liveNames).toContain("live");
        expect(liveNames).not.toContain("mnt/c.tar");
        expect(liveNames.filter((n) => n.startsWith("proc/"))).toEqual(["proc/"]); // the image's empty directory
        expect((await box(root, ["rm", "-f", id])).code).toBe(0);
        expect(await box(root, ["export", "nosuch"])).toMatchObject({ code: 125, stdout: "", stderr: "box: no such container: nosuch\n" });
        expect(await box(root, ["export", "-o", join(dir, "no/such/dir/x.tar"), "c"])).toMatchObject({ code: 125 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect((await box(root, ["rm", "c"])).code).toBe(0);
      expect((await box(root, ["rmi", "exported:1"])).code).toBe(0);
    }));
});

describe("box commit", () => {
  test("the changes as one more layer; CMD, ENV, WORKDIR carried over; -c, -m, -a; box save and load elsewhere", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "c", "-e", "GREETING=hi", "-w", "/w", "sh", "-c", CHANGES])).code).toBe(0);
      const id = await box(root, ["commit", "-m", "the message", "-a", "Jane <jane@example.com>", "c", "committed:v1"]);
      expect(id).toMatchObject({ code: 0, stderr: "" });
      expect(id.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect(await box(root, ["run", "--rm", "committed:v1", "sh", "-c", `${CHECK}; echo $GREETING; pwd`])).toMatchObject({ code: 0, stdout: EXPECTED + "hi\n/w\n" });
      const [doc] = JSON.parse((await box(root, ["image", "inspect", "committed:v1"])).stdout);
      const [base] = JSON.parse((await box(root, ["image", "inspect", "alpine:3.20.3"])).stdout);
      expect(doc.RootFS.Layers.length).toBe(base.RootFS.Layers.length + 1);
      expect(doc.RootFS.Layers.slice(0, -1)).toEqual(base.RootFS.Layers);
      expect(doc).toMatchObject({ Comment: "the message", Author: "Jane <jane@example.com>", Config: { Cmd: ["sh", "-c", CHANGES], WorkingDir: "/w" } });
      expect(doc.Config.Env).toContain("GREETING=hi");
      // With no command, the committed CMD runs (the changes again, on a root that has them: it fails where they clash).
      const changed = await box(root, ["commit", "-c", 'CMD ["cat", "/added"]', "-c", "ENV MORE=1", "c", "committed:v2"]);
      expect(changed.code).toBe(0);
      expect(await box(root, ["run", "--rm", "committed:v2"])).toMatchObject({ code: 0, stdout: "added\n" });
      expect((await box(root, ["run", "--rm", "committed:v2", "sh", "-c", "echo $MORE $GREETING"])).stdout).toBe("1 hi\n");
      // Saved, and loaded by a box that has never seen it.
      const dir = tempDir("box-commit-");
      const other = join(dir, "other-root");
      try {
        expect((await box(root, ["save", "-o", join(dir, "img.tar"), "committed:v1"])).code).toBe(0);
        mkdirSync(other);
        expect((await box(other, ["load", "-i", join(dir, "img.tar")])).code).toBe(0);
        expect(await box(other, ["run", "--rm", "committed:v1", "sh", "-c", CHECK])).toMatchObject({ code: 0, stdout: EXPECTED });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect((await box(root, ["rm", "c"])).code).toBe(0);
      expect((await box(root, ["rmi", "committed:v1", "committed:v2"])).code).toBe(0);
    }));

  test("a running container; an image without a name; what cannot be committed is one sentence and 125", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "sh", "-c", "echo running > /state; sleep 60"])).stdout.trim();
      for (let i = 0; i < 50 && !(await box(root, ["exec", id, "cat", "/state"])).stdout; i++) await Bun.sleep(20);
      const made = await box(root, ["commit", id]);
      expect(made.code).toBe(0);
      const imageId = made.stdout.trim();
      expect(await box(root, ["run", "--rm", imageId.slice(7, 19), "cat", "/state"])).toMatchObject({ code: 0, stdout: "running\n" });
      expect((await box(root, ["rm", "-f", id])).code).toBe(0);
      const dir = tempDir("box-commit-rootfs-");
      try {
        writeFileSync(join(dir, "x"), "");
        expect((await box(root, ["run", "--name", "d", "--rootfs", dir, "/x"])).code).not.toBe(0);
        for (const [args, message] of [
          [["commit", "d"], "container d runs on a directory, not an image: it has no layers to commit (box export makes a tarball of it)"],
          [["commit", "nosuch"], "no such container: nosuch"],
          [["commit", "d", "Bad:Name"], 'invalid image name "Bad:Name": use lower-case letters, digits, \'.\', \'_\' and \'-\', and an optional :TAG'],
        ] as Array<[string[], string]>) {
          expect(await box(root, args)).toMatchObject({ code: 125, stdout: "", stderr: `box: ${message}\n` });
        }
        expect((await box(root, ["rm", "d"])).code).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect((await box(root, ["run", "--name", "e", "true"])).code).toBe(0);
      expect(await box(root, ["commit", "-c", "FROB x", "e"])).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --change "FROB x"') });
      expect((await box(root, ["rm", "e"])).code).toBe(0);
      expect((await box(root, ["rmi", imageId])).code).toBe(0);
    }));
});
