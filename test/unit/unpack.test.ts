import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pack, type Header } from "tar-stream";
import { memberPath, unpackTar } from "../../src/image/unpack";

type Entry = Partial<Header> & { name: string; body?: string };

/** Builds a tar archive in memory from entries (owned by the current user, so no privilege is needed). */
async function archive(entries: Entry[]): Promise<Readable> {
  const p = pack();
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  for (const { body, ...h } of entries) p.entry({ uid, gid, mtime: new Date(1_700_000_000_000), ...h }, body ?? "");
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

const dirs: string[] = [];
function scratch(): { dest: string; outside: string } {
  const top = mkdtempSync(join(tmpdir(), "box-unpack-"));
  dirs.push(top);
  mkdirSync(join(top, "dest"));
  mkdirSync(join(top, "outside"));
  return { dest: join(top, "dest"), outside: join(top, "outside") };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("member names", () => {
  test("relative names are kept, ./ and empty parts dropped", () => {
    expect(memberPath("./bin/sh")).toBe("bin/sh");
    expect(memberPath("a//b/./c/")).toBe("a/b/c");
    expect(memberPath("./")).toBe("");
  });
  test("absolute names and .. are refused, naming the entry", () => {
    expect(() => memberPath("/etc/passwd")).toThrow('refusing the archive entry "/etc/passwd": it is an absolute path');
    expect(() => memberPath("a/../../x")).toThrow(`refusing the archive entry "a/../../x": it contains '..'`);
  });
});

describe("unpacking", () => {
  test("keeps symlink targets as written, hard links, modes with special bits, and times", async () => {
    const { dest } = scratch();
    await unpackTar(
      await archive([
        { name: "./", type: "directory", mode: 0o755 },
        { name: "./bin/", type: "directory", mode: 0o755 },
        { name: "./bin/busybox", type: "file", mode: 0o4755, body: "#!bb" },
        { name: "./bin/sh", type: "symlink", linkname: "/bin/busybox" },
        { name: "./bin/ls", type: "symlink", linkname: "busybox" },
        { name: "./bin/hard", type: "link", linkname: "./bin/busybox" },
        { name: "./ro/", type: "directory", mode: 0o555 },
        { name: "./ro/file", type: "file", mode: 0o600, body: "x" },
        { name: "./tmp/", type: "directory", mode: 0o1777 },
      ]),
      dest,
    );
    expect(readlinkSync(join(dest, "bin/sh"))).toBe("/bin/busybox");
    expect(readlinkSync(join(dest, "bin/ls"))).toBe("busybox");
    expect(statSync(join(dest, "bin/busybox")).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(dest, "bin/hard")).ino).toBe(statSync(join(dest, "bin/busybox")).ino);
    expect(statSync(join(dest, "ro")).mode & 0o7777).toBe(0o555);
    expect(readFileSync(join(dest, "ro/file"), "utf8")).toBe("x");
    expect(statSync(join(dest, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(dest, "bin/busybox")).mtimeMs).toBe(1_700_000_000_000);
    expect(lstatSync(join(dest, "bin/sh")).mtimeMs).toBe(1_700_000_000_000);
  });

  test("missing parent directories are made; a later entry replaces an earlier one", async () => {
    const { dest } = scratch();
    await unpackTar(
      await archive([
        { name: "a/b/c.txt", type: "file", body: "one" },
        { name: "a/b/c.txt", type: "file", body: "two" },
        { name: "a/link", type: "symlink", linkname: "b" },
        { name: "a/link", type: "file", body: "now a file" },
      ]),
      dest,
    );
    expect(readFileSync(join(dest, "a/b/c.txt"), "utf8")).toBe("two");
    expect(lstatSync(join(dest, "a/link")).isFile()).toBe(true);
  });

  const hostile: Array<[string, (outside: string) => Entry[], string]> = [
    ["an absolute member path", (o) => [{ name: join(o, "pwned"), type: "file", body: "x" }], "it is an absolute path"],
    ["a .. component", () => [{ name: "../outside/pwned", type: "file", body: "x" }], "it contains '..'"],
    [
      "a symlink followed by an entry written through it",
      (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/pwned", type: "file", body: "x" }],
      'it would be written through the symbolic link "escape"',
    ],
    [
      "a relative symlink pointing up, then written through",
      () => [{ name: "d/up", type: "symlink", linkname: "../../outside" }, { name: "d/up/pwned", type: "file", body: "x" }],
      'it would be written through the symbolic link "d/up"',
    ],
    [
      "a directory entry through a symlink",
      (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/sub/", type: "directory" }],
      "symbolic link",
    ],
    ["a hard link to a path outside", (o) => [{ name: "h", type: "link", linkname: join(o, "target") }], "it is an absolute path"],
    ["a hard link with ..", () => [{ name: "h", type: "link", linkname: "../outside/target" }], "it contains '..'"],
    [
      "a hard link through a symlink",
      (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "h", type: "link", linkname: "escape/target" }],
      "symbolic link",
    ],
  ];
  for (const [what, entries, why] of hostile) {
    test(`refuses ${what}, writing nothing outside`, async () => {
      const { dest, outside } = scratch();
      await Bun.write(join(outside, "target"), "host file");
      let error: unknown;
      try {
        await unpackTar(await archive(entries(outside)), dest);
      } catch (e) {
        error = e;
      }
      expect(String(error)).toContain(why);
      expect(String(error)).toContain("refusing the archive entry");
      expect(existsSync(join(outside, "pwned"))).toBe(false);
      expect(existsSync(join(outside, "sub"))).toBe(false);
      expect(readFileSync(join(outside, "target"), "utf8")).toBe("host file");
      expect(statSync(join(outside, "target")).nlink).toBe(1);
    });
  }
});
