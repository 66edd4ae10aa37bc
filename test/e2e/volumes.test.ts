// Volumes through dist/box: box volume's commands and docker's output shapes, -v NAME:/path, a
// volume outliving its container, the image's content copied in on first use, in-use rules,
// anonymous volumes; each test with its own --root (volumes live under it).
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Dir } from "../../src/fs/dir";
import { box, run, tempDir, withRoot } from "./harness";

const HEX64 = /^[0-9a-f]{64}$/;

describe("box volume", () => {
  test("create, ls, inspect, rm, in docker's shapes; bad names and missing volumes refused", () =>
    withRoot(async (root) => {
      expect(await box(root, ["volume", "create", "data"])).toMatchObject({ code: 0, stdout: "data\n", stderr: "" });
      expect((await box(root, ["volume", "create", "data"])).stdout).toBe("data\n"); // there already: the same one
      const anon = (await box(root, ["volume", "create", "--label", "team=db"])).stdout.trim();
      expect(anon).toMatch(HEX64);
      const ls = (await box(root, ["volume", "ls"])).stdout.split("\n");
      expect(ls[0]).toMatch(/^DRIVER\s+VOLUME NAME$/);
      expect(ls.slice(1).filter(Boolean).map((l) => l.split(/\s+/))).toEqual([["local", anon], ["local", "data"]].sort((a, b) => a[1]!.localeCompare(b[1]!)));
      expect((await box(root, ["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean).sort()).toEqual([anon, "data"].sort());
      const inspect = await box(root, ["volume", "inspect", "data"]);
      const [doc] = JSON.parse(inspect.stdout);
      expect(doc).toEqual({ CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), Driver: "local", Labels: null, Mountpoint: join(root, "volumes/data/_data"), Name: "data", Options: null, Scope: "local" });
      expect(inspect.stdout).toStartWith('[\n    {\n        "CreatedAt"');
      expect(JSON.parse((await box(root, ["volume", "inspect", anon])).stdout)[0].Labels).toEqual({ team: "db" });
      const json = (await box(root, ["volume", "ls", "--format", "json"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(json.map((d) => d.Name).sort()).toEqual([anon, "data"].sort());
      expect(await box(root, ["volume", "inspect", "nope"])).toMatchObject({ code: 125, stdout: "[]\n", stderr: "box: no such volume: nope\n" });
      expect(await box(root, ["volume", "create", "_bad"])).toMatchObject({ code: 125, stderr: 'box: invalid volume name "_bad": use [a-zA-Z0-9][a-zA-Z0-9_.-] (to bind a host directory, give an absolute path)\n' });
      expect(await box(root, ["volume", "rm", "data", "nope"])).toMatchObject({ code: 125, stdout: "data\n", stderr: "box: no such volume: nope\n" });
      expect(await box(root, ["volume", "frobnicate"])).toMatchObject({ code: 125, stderr: expect.stringContaining('unknown volume command "frobnicate"') });
      expect(existsSync(join(root, "volumes/data"))).toBe(false);
    }));

  test("a damaged record is said, and rm -f removes it", () =>
    withRoot(async (root) => {
      await box(root, ["volume", "create", "hurt"]);
      writeFileSync(join(root, "volumes/hurt/volume.json"), "{ truncated");
      const ls = await box(root, ["volume", "ls", "-q"]);
      expect(ls).toMatchObject({ code: 0, stdout: "" });
      expect(ls.stderr).toContain("box: warning: volume hurt is damaged");
      expect((await box(root, ["volume", "rm", "hurt"])).code).toBe(125);
      expect(await box(root, ["volume", "rm", "-f", "hurt"])).toMatchObject({ code: 0, stdout: "hurt\n" });
    }));
});

describe("-v NAME:/path", () => {
  test("made on first use; outlives its container; the host sees what the container wrote", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-v", "keep:/data", "sh", "-c", "echo from the first > /data/f"])).code).toBe(0);
      expect(readFileSync(join(root, "volumes/keep/_data/f"), "utf8")).toBe("from the first\n");
      writeFileSync(join(root, "volumes/keep/_data/g"), "from the host\n");
      const second = await box(root, ["run", "--read-only", "-v", "keep:/elsewhere:ro", "sh", "-c", "cat /elsewhere/f /elsewhere/g; touch /elsewhere/h; echo $?"]);
      expect(second.stdout).toBe("from the first\nfrom the host\n1\n");
      expect((await box(root, ["volume", "ls", "-q"])).stdout).toBe("keep\n");
    }));

  test("first use copies the image's content: modes, owners, xattrs, links as links; never into a volume that has something", () =>
    withRoot(async (root) => {
      const tree = tempDir("box-image-");
      try {
        mkdirSync(join(tree, "srv/app/sub"), { recursive: true });
        writeFileSync(join(tree, "srv/app/run"), "#!/bin/sh\necho app\n");
        chownSync(join(tree, "srv/app"), 1234, 5678);
        chmodSync(join(tree, "srv/app"), 0o750);
        chownSync(join(tree, "srv/app/run"), 42, 43);
        chmodSync(join(tree, "srv/app/run"), 0o4755);
        symlinkSync("/etc/passwd", join(tree, "srv/app/link"));
        const d = Dir.open(tree, "beneath");
        d.setxattr("srv/app/sub", "user.role", Buffer.from("config"));
        d.close();
        const tar = join(tree, "..", `${tree.split("/").pop()}.tar`);
        await run(["tar", "--xattrs", "--xattrs-include=user.*", "-C", tree, "-cf", tar, "."]);
        expect((await box(root, ["import", tar, "app:1"])).code).toBe(0);
        rmSync(tar);
        expect((await box(root, ["run", "-v", "appdata:/srv/app", "app:1", "/bin/true"])).code).toBe(127); // no /bin in that image: the volume is what counts
        const data = join(root, "volumes/appdata/_data");
        const st = lstatSync(data);
        expect([st.uid, st.gid, (st.mode & 0o7777).toString(8)]).toEqual([1234, 5678, "750"]);
        const run_ = lstatSync(join(data, "run"));
        expect([run_.uid, run_.gid, (run_.mode & 0o7777).toString(8)]).toEqual([42, 43, "4755"]);
        expect(readlinkSync(join(data, "link"))).toBe("/etc/passwd");
        const v = Dir.open(data, "beneath");
        expect(v.getxattr("sub", "user.role")?.toString()).toBe("config");
        v.close();
        // Not empty any more: a later use copies nothing over it.
        writeFileSync(join(data, "run"), "changed");
        await box(root, ["run", "-v", "appdata:/srv/app", "app:1", "/bin/true"]);
        expect(readFileSync(join(data, "run"), "utf8")).toBe("changed");
        // volume-nocopy: left empty.
        await box(root, ["run", "--mount", "source=bare,target=/srv/app,volume-nocopy", "app:1", "/bin/true"]);
        expect(readdirSync(join(root, "volumes/bare/_data"))).toEqual([]);
        // The embedded Alpine's /etc, through its layers.
        expect((await box(root, ["run", "-v", "etc:/etc", "cat", "/etc/alpine-release"])).stdout).toBe("3.20.3\n");
        expect(lstatSync(join(root, "volumes/etc/_data/shadow")).mode & 0o777).toBe(0o640);
      } finally {
        rmSync(tree, { recursive: true, force: true });
      }
    }));

  test("in use (any container, running or not) it stays unless -f; a running container's never goes", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "user", "-v", "shared:/s", "true"])).code).toBe(0);
      const refused = await box(root, ["volume", "rm", "shared"]);
      expect(refused.code).toBe(125);
      expect(refused.stderr).toMatch(/^box: volume shared is in use by container [0-9a-f]{12}: remove the container first, or use -f\n$/);
      expect((await box(root, ["volume", "prune", "-f", "-a"])).stdout).toBe("Total reclaimed space: 0B\n");
      expect((await box(root, ["volume", "ls", "--filter", "dangling=true", "-q"])).stdout).toBe("");
      const id = (await box(root, ["run", "-d", "-v", "shared:/s", "sleep", "60"])).stdout.trim();
      const running = await box(root, ["volume", "rm", "-f", "shared"]);
      expect(running.stderr).toBe(`box: volume shared is in use by running container ${id.slice(0, 12)}: stop it first\n`);
      expect((await box(root, ["rm", "-f", id])).code).toBe(0);
      expect(await box(root, ["volume", "rm", "-f", "shared"])).toMatchObject({ code: 0, stdout: "shared\n" });
      expect((await box(root, ["rm", "user"])).code).toBe(0);
    }));

  test("anonymous volumes: -v /path and the image's VOLUME; gone with --rm, with rm -v, and by prune", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--rm", "-v", "/data", "sh", "-c", "echo x > /data/x"])).code).toBe(0);
      expect((await box(root, ["volume", "ls", "-q"])).stdout).toBe("");
      expect((await box(root, ["run", "--name", "kept", "-v", "/data", "sh", "-c", "echo x > /data/x"])).code).toBe(0);
      const [name] = (await box(root, ["volume", "ls", "-q"])).stdout.split("\n");
      expect(name).toMatch(HEX64);
      expect((await box(root, ["rm", "-v", "kept"])).code).toBe(0);
      expect((await box(root, ["volume", "ls", "-q"])).stdout).toBe("");
      // An image with a VOLUME gets one per container, filled from the image.
      expect((await box(root, ["run", "--name", "base", "sh", "-c", "mkdir /vol; echo seeded > /vol/seed"])).code).toBe(0);
      expect((await box(root, ["commit", "-c", "VOLUME /vol", "base", "withvol"])).code).toBe(0);
      expect((await box(root, ["run", "--name", "v1", "withvol", "cat", "/vol/seed"])).stdout).toBe("seeded\n");
      const [doc] = JSON.parse((await box(root, ["inspect", "v1"])).stdout);
      expect(doc.Mounts).toEqual([expect.objectContaining({ Type: "volume", Destination: "/vol", Driver: "local" })]);
      expect((await box(root, ["rm", "v1", "base"])).code).toBe(0);
      const prune = await box(root, ["volume", "prune", "-f"]);
      expect(prune.stdout).toMatch(/^Deleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: 7B\n$/);
      await box(root, ["volume", "create", "named"]);
      expect((await box(root, ["volume", "prune", "-f"])).stdout).toBe("Total reclaimed space: 0B\n");
      expect((await box(root, ["volume", "prune"], { stdin: "n\n" })).stdout).toBe("");
      expect((await box(root, ["volume", "prune", "-a"], { stdin: "y\n" })).stdout).toBe("Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n");
      expect((await box(root, ["rmi", "withvol"])).code).toBe(0);
    }));
});
