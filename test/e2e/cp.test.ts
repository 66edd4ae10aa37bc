// box cp through dist/box: files, directories, links and special files both ways, running and
// stopped containers, tar streams, -a and -L, and links in the container aimed at the host, with a
// canary tree on the host that must stay exactly as it was (owner, mode, times, content).
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, run, tempDir, withRoot } from "./harness";

/** A container stopped with a tree of every kind of file in /data. */
const MAKE_DATA =
  "mkdir -p /data/sub && echo hello > /data/sub/file && chown 123:456 /data/sub/file && chmod 4750 /data/sub/file && " +
  "ln -s /etc/passwd /data/abs && ln -s sub/file /data/rel && ln /data/sub/file /data/hard && mkfifo /data/fifo && mknod /data/null c 1 3 && " +
  "touch -d '2001-02-03 04:05:06' /data/sub/file";

function canary(): { dir: string; check: () => void } {
  const dir = tempDir("box-canary-");
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "secret"), "host secret\n");
  writeFileSync(join(dir, "sub", "inner"), "inner\n");
  chmodSync(join(dir, "secret"), 0o600);
  chownSync(join(dir, "sub", "inner"), 7, 8);
  for (const p of ["secret", "sub/inner", "sub", "."]) utimesSync(join(dir, p), 1_000_000, 1_000_000);
  const describe = () => ["", "secret", "sub", "sub/inner"].map((p) => {
    const st = lstatSync(join(dir, p));
    return `${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.isFile() ? readFileSync(join(dir, p), "utf8") : readdirSync(join(dir, p)).join(",")}`;
  });
  const before = describe();
  return { dir, check: () => expect(describe()).toEqual(before) };
}

describe("box cp out of a container", () => {
  test("a stopped container: files, directories, links as links, hard links, a fifo, a device; modes, times; owners with -a", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "c", "sh", "-c", MAKE_DATA])).code).toBe(0);
      const out = tempDir("box-cp-out-");
      try {
        expect(await box(root, ["cp", "c:/data", out])).toMatchObject({ code: 0, stdout: "", stderr: "" });
        const d = join(out, "data");
        expect(readdirSync(d).sort()).toEqual(["abs", "fifo", "hard", "null", "rel", "sub"]);
        expect(readlinkSync(join(d, "abs"))).toBe("/etc/passwd");
        expect(readlinkSync(join(d, "rel"))).toBe("sub/file");
        const f = lstatSync(join(d, "sub/file"));
        // Without -a: box's own user owns it, and setuid does not come along; the times do.
        expect([f.uid, f.gid, (f.mode & 0o7777).toString(8), f.nlink]).toEqual([0, 0, "750", 2]);
        expect(new Date(f.mtimeMs).toISOString()).toBe("2001-02-03T04:05:06.000Z");
        expect(lstatSync(join(d, "hard")).ino).toBe(f.ino);
        expect(lstatSync(join(d, "fifo")).isFIFO()).toBe(true);
        expect(lstatSync(join(d, "null")).isCharacterDevice()).toBe(true);
        expect(lstatSync(join(d, "null")).mode & 0o777).toBe(0o600); // a device node: its owner's only, without -a
        // -a: the owners and every mode bit as they are in the container.
        expect((await box(root, ["cp", "-a", "c:/data/sub/file", join(out, "archived")])).code).toBe(0);
        const a = lstatSync(join(out, "archived"));
        expect([a.uid, a.gid, (a.mode & 0o7777).toString(8)]).toEqual([123, 456, "4750"]);
        // A link named as the source: the link; with -L, what it leads to (inside the container).
        expect((await box(root, ["cp", "c:/data/rel", join(out, "l1")])).code).toBe(0);
        expect(readlinkSync(join(out, "l1"))).toBe("sub/file");
        expect((await box(root, ["cp", "-L", "c:/data/abs", join(out, "l2")])).code).toBe(0);
        expect(readFileSync(join(out, "l2"), "utf8")).toStartWith("root:x:0:0:");
        // SRC/. copies the content; into an existing directory, under its own name otherwise.
        mkdirSync(join(out, "content"));
        expect((await box(root, ["cp", "c:/data/sub/.", join(out, "content")])).code).toBe(0);
        expect(readdirSync(join(out, "content"))).toEqual(["file"]);
        expect(await box(root, ["cp", "c:/data", join(out, "l2")])).toMatchObject({ code: 125, stderr: `box: cannot copy a directory to a file: ${join(out, "l2")}\n` });
        expect(await box(root, ["cp", "c:/nope", out])).toMatchObject({ code: 125, stderr: "box: no such file or directory in the container: /nope\n" });
        expect(await box(root, ["cp", "c:/data/sub/file", join(out, "no/such/")])).toMatchObject({ code: 125 });
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));

  test("to stdout as a tar stream, as GNU tar reads it; from a running container, binds as it sees them, /proc refused", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "c", "sh", "-c", MAKE_DATA])).code).toBe(0);
      const tar = await box(root, ["cp", "c:/data/sub", "-"]);
      expect(tar.code).toBe(0);
      const dir = tempDir("box-cp-tar-");
      try {
        writeFileSync(join(dir, "x.tar"), tar.out);
        expect((await run(["tar", "-tvf", join(dir, "x.tar")])).stdout).toMatch(/^drwxr-xr-x 0\/0 .* sub\/\n-rwsr-x--- 123\/456 +6 2001-02-03 04:05 sub\/file\n$/);
        writeFileSync(join(dir, "bound"), "through the bind\n");
        const id = (await box(root, ["run", "-d", "-v", `${dir}:/mnt/host`, "sh", "-c", "echo live > /live; sleep 60"])).stdout.trim();
        expect((await box(root, ["cp", `${id}:/live`, join(dir, "live")])).code).toBe(0);
        expect(readFileSync(join(dir, "live"), "utf8")).toBe("live\n");
        expect((await box(root, ["cp", `${id}:/mnt/host/bound`, join(dir, "again")])).code).toBe(0);
        expect(readFileSync(join(dir, "again"), "utf8")).toBe("through the bind\n");
        expect(await box(root, ["cp", `${id}:/proc/1/environ`, join(dir, "env")])).toMatchObject({ code: 125, stderr: "box: proc/1/environ is on a filesystem of the kernel's (/proc, /sys): box does not copy from it\n" });
        const all = await box(root, ["cp", `${id}:/`, "-"]);
        writeFileSync(join(dir, "all.tar"), all.out);
        const names = (await run(["tar", "-tf", join(dir, "all.tar")])).stdout.split("\n");
        expect(names).toContain("proc/");
        expect(names.filter((n) => n.startsWith("proc/") || n.startsWith("sys/")).length).toBe(2); // listed, not entered
        expect(names).toContain("mnt/host/bound");
        expect((await box(root, ["rm", "-f", id])).code).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));
});

describe("box cp into a container", () => {
  test("a stopped container: a file, a directory, its content, a tar stream; root owns what comes in unless -a; it sees them when it starts", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "c", "-v", "vol:/vol", "sh", "-c", "rm -f /etc/motd; mkdir -p /dest"])).code).toBe(0);
      const src = tempDir("box-cp-in-");
      try {
        mkdirSync(join(src, "tree/inner"), { recursive: true });
        writeFileSync(join(src, "tree/inner/f"), "in a tree\n");
        writeFileSync(join(src, "file"), "a file\n");
        chownSync(join(src, "file"), 1000, 1000);
        chmodSync(join(src, "file"), 0o640);
        expect(await box(root, ["cp", join(src, "file"), "c:/dest/"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
        expect((await box(root, ["cp", "-a", join(src, "file"), "c:/dest/kept"])).code).toBe(0);
        expect((await box(root, ["cp", join(src, "tree"), "c:/dest/"])).code).toBe(0);
        expect((await box(root, ["cp", join(src, "tree"), "c:/newdir"])).code).toBe(0);
        expect((await box(root, ["cp", join(src, "file"), "c:/etc/motd"])).code).toBe(0); // where a whiteout was
        expect((await box(root, ["cp", join(src, "file"), "c:/vol/in-volume"])).code).toBe(0);
        await run(["tar", "-C", src, "-czf", join(src, "s.tgz"), "tree"]);
        expect((await box(root, ["cp", "-", "c:/dest/streamed"], { stdin: readFileSync(join(src, "s.tgz")) })).code).toBe(125); // must exist
        expect((await box(root, ["cp", "-", "c:/dest"], { stdin: readFileSync(join(src, "s.tgz")) })).code).toBe(0);
        expect(readFileSync(join(root, "volumes/vol/_data/in-volume"), "utf8")).toBe("a file\n");
        expect((await box(root, ["cp", "c:/etc/motd", join(src, "motd")])).code).toBe(0);
        expect(readFileSync(join(src, "motd"), "utf8")).toBe("a file\n");
        const r = await box(root, ["start", "-a", "c"]);
        expect(r.code).toBe(0);
        const check = await box(root, ["run", "--rm", "-v", "vol:/vol", "true"]);
        expect(check.code).toBe(0);
        const ls = await box(root, ["cp", "c:/dest", "-"]);
        writeFileSync(join(src, "d.tar"), ls.out);
        expect((await run(["tar", "-tvf", join(src, "d.tar")])).stdout.split("\n").filter(Boolean).map((l) => l.split(/\s+/).slice(0, 2).concat(l.split(" ").pop()!).join(" "))).toEqual([
          "drwxr-xr-x 0/0 dest/",
          "-rw-r----- 0/0 dest/file",
          "-rw-r----- 1000/1000 dest/kept",
          "drwxr-xr-x 0/0 dest/tree/",
          "drwxr-xr-x 0/0 dest/tree/inner/",
          "-rw-r--r-- 0/0 dest/tree/inner/f",
        ]);
        expect((await box(root, ["cp", "c:/newdir/inner/f", "-"])).code).toBe(0);
      } finally {
        rmSync(src, { recursive: true, force: true });
      }
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));

  test("a running container: into its root and into a bind, as it sees them; a read-only root refused, running or not", () =>
    withRoot(async (root) => {
      const dir = tempDir("box-cp-run-");
      try {
        writeFileSync(join(dir, "f"), "copied in\n");
        mkdirSync(join(dir, "bound"));
        const id = (await box(root, ["run", "-d", "-v", `${join(dir, "bound")}:/b`, "sleep", "60"])).stdout.trim();
        expect((await box(root, ["cp", join(dir, "f"), `${id}:/tmp/f`])).code).toBe(0);
        expect((await box(root, ["exec", id, "cat", "/tmp/f"])).stdout).toBe("copied in\n");
        expect((await box(root, ["cp", join(dir, "f"), `${id}:/b/`])).code).toBe(0);
        expect(readFileSync(join(dir, "bound/f"), "utf8")).toBe("copied in\n");
        expect(await box(root, ["cp", join(dir, "f"), `${id}:/proc/`])).toMatchObject({ code: 125, stderr: "box: /proc/ is on a filesystem of the kernel's (/proc, /sys): box does not copy into it\n" });
        expect((await box(root, ["rm", "-f", id])).code).toBe(0);
        const ro = (await box(root, ["run", "-d", "--read-only", "sleep", "60"])).stdout.trim();
        const refused = await box(root, ["cp", join(dir, "f"), `${ro}:/tmp/`]);
        expect(refused.code).toBe(125);
        expect(refused.stderr).toMatch(/^box: cannot unpack the archive entry "f": .*read-only file system\n$/i);
        expect((await box(root, ["rm", "-f", ro])).code).toBe(0);
        // Stopped, as docker: its read-only root refuses, its volumes take it.
        expect((await box(root, ["run", "--name", "rostop", "--read-only", "-v", "rovol:/v", "true"])).code).toBe(0);
        expect(await box(root, ["cp", join(dir, "f"), "rostop:/tmp/"])).toMatchObject({ code: 125, stderr: expect.stringMatching(/^box: the root filesystem of container [0-9a-f]{12} is read-only \(--read-only\): copy into one of its volumes\n$/) });
        expect((await box(root, ["cp", join(dir, "f"), "rostop:/v/"])).code).toBe(0);
        expect(readFileSync(join(root, "volumes/rovol/_data/f"), "utf8")).toBe("copied in\n");
        expect((await box(root, ["rm", "rostop"])).code).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));

  test("errors: both sides or neither a container, an unknown container, one sentence and 125", () =>
    withRoot(async (root) => {
      for (const [args, message] of [
        [["a:/x", "b:/y"], "copying between containers is not supported: copy to the host first"],
        [["/tmp", "./x"], "box cp needs a container on one side: CONTAINER:PATH"],
        [["nosuch:/x", "/tmp/y"], "no such container: nosuch"],
        [["c:", "/tmp/y"], "box cp: give a path in the container after 'c:'"],
      ] as Array<[string[], string]>) {
        expect(await box(root, ["cp", ...args])).toMatchObject({ code: 125, stdout: "", stderr: `box: ${message}\n` });
      }
    }));
});

describe("links in the container aimed at the host", () => {
  test("stopped and running: nothing on the host is read or written through them; the canary stays as it was", () =>
    withRoot(async (root) => {
      const c = canary();
      const out = tempDir("box-cp-hostile-");
      try {
        const plant = `ln -s ${c.dir} /abs; ln -s ../../../../../../../..${c.dir} /dots; ln -s / /rootlink; mkdir -p ${c.dir}/sub; echo decoy > ${c.dir}/secret`;
        expect((await box(root, ["run", "--name", "s", "sh", "-c", plant])).code).toBe(0);
        const id = (await box(root, ["run", "-d", "sh", "-c", `${plant}; sleep 60`])).stdout.trim();
        writeFileSync(join(out, "pwn"), "pwned\n");
        for (const ctr of ["s", id]) {
          // Reads resolve inside: the container's own decoy, never the host's secret.
          for (const path of ["/abs/secret", "/dots/secret", "/rootlink" + c.dir + "/secret"]) {
            const r = await box(root, ["cp", `${ctr}:${path}`, "-"]);
            expect(r.code, path).toBe(0);
            expect(r.stdout, path).toContain("decoy");
            expect(r.stdout).not.toContain("host secret");
          }
          expect((await box(root, ["cp", `${ctr}:/abs`, join(out, `link-${ctr}`)])).code).toBe(0);
          expect(readlinkSync(join(out, `link-${ctr}`))).toBe(c.dir); // copied as a link, not followed
          // Writes land inside the container too.
          for (const path of ["/abs/secret", "/dots/sub/", "/rootlink" + c.dir + "/new"]) expect((await box(root, ["cp", join(out, "pwn"), `${ctr}:${path}`])).code, path).toBe(0);
          expect((await box(root, ["cp", `${ctr}:${c.dir}/secret`, "-"])).stdout).toContain("pwned");
          expect((await box(root, ["cp", "-", `${ctr}:/abs/`], { stdin: (await box(root, ["cp", `${ctr}:/abs/sub`, "-"])).out })).code).toBe(0);
          c.check();
        }
        expect(existsSync(join(c.dir, "new"))).toBe(false);
        expect(statSync(join(c.dir, "sub")).isDirectory()).toBe(true);
        expect((await box(root, ["rm", "-f", "s", id])).code).toBe(0);
        c.check();
      } finally {
        rmSync(out, { recursive: true, force: true });
        rmSync(c.dir, { recursive: true, force: true });
      }
    }));
});
