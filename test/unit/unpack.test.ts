// The unpacker against hostile archives. After each, a canary tree outside the destination is
// checked for owner, mode, times, content and link count: nothing outside may change, whatever
// the archive holds. Parts that need root (other owners, device nodes, trusted.* xattrs) run only
// as root.
import { afterEach, describe, expect, test } from "bun:test";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";
import { zstdCompressSync, gzipSync } from "node:zlib";
import { Dir } from "../../src/fs/dir";
import { memberPath, unpackTar } from "../../src/image/unpack";
import { tarHeader } from "../../src/image/save";
import { expectCanary, makeCanary } from "./canary";

const root = process.getuid?.() === 0;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

type Entry = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar archive of entries, in memory (owned by the current user unless the entry says). */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...h } of entries) p.entry({ uid, gid, mtime: new Date(1_700_000_000_000), ...h }, body ?? "");
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

const tops: string[] = [];
afterEach(() => {
  for (const t of tops.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** dest, and the canary outside it: a file and a directory with known owner, mode and times. */
function scratch(): { top: string; dest: string; outside: string } {
  const made = makeCanary("box-unpack-");
  tops.push(made.top);
  return made;
}

async function refusal(bytes: Uint8Array, dest: string): Promise<string> {
  try {
    await unpackTar(once(bytes), dest);
  } catch (e) {
    return String(e instanceof Error ? e.message : e);
  }
  return "";
}

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

describe("unpacking exactly", () => {
  test("symlink targets as written, hard links, modes with special bits, times to the nanosecond", async () => {
    const { dest } = scratch();
    await unpackTar(once(await tarOf([
      { name: "./", type: "directory", mode: 0o755 },
      { name: "./bin/", type: "directory", mode: 0o755 },
      { name: "./bin/busybox", type: "file", mode: 0o4755, body: "#!bb" },
      { name: "./bin/sh", type: "symlink", linkname: "/bin/busybox" },
      { name: "./bin/ls", type: "symlink", linkname: "busybox" },
      { name: "./bin/hard", type: "link", linkname: "./bin/busybox" },
      { name: "./ro/", type: "directory", mode: 0o555 },
      { name: "./ro/file", type: "file", mode: 0o600, body: "x" },
      { name: "./tmp/", type: "directory", mode: 0o1777 },
      { name: "./nano", type: "file", mode: 0o644, pax: { mtime: "1700000000.123456789" }, body: "n" },
    ])), dest);
    expect(readlinkSync(join(dest, "bin/sh"))).toBe("/bin/busybox");
    expect(readlinkSync(join(dest, "bin/ls"))).toBe("busybox");
    expect(statSync(join(dest, "bin/busybox")).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(dest, "bin/hard")).ino).toBe(statSync(join(dest, "bin/busybox")).ino);
    expect(statSync(join(dest, "ro")).mode & 0o7777).toBe(0o555);
    expect(readFileSync(join(dest, "ro/file"), "utf8")).toBe("x");
    expect(statSync(join(dest, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(dest, "bin/busybox")).mtimeMs).toBe(1_700_000_000_000);
    expect(lstatSync(join(dest, "bin/sh")).mtimeMs).toBe(1_700_000_000_000);
    expect(statSync(join(dest, "ro")).mtimeMs).toBe(1_700_000_000_000);
    expect(statSync(join(dest, "nano"), { bigint: true }).mtimeNs).toBe(1_700_000_000_123_456_789n);
  });

  test("missing parents are made; a later entry replaces an earlier one, a directory a file", async () => {
    const { dest } = scratch();
    await unpackTar(once(await tarOf([
      { name: "a/b/c.txt", type: "file", body: "one" },
      { name: "a/b/c.txt", type: "file", body: "two" },
      { name: "a/link", type: "symlink", linkname: "b" },
      { name: "a/link", type: "file", body: "now a file" },
      { name: "a/b", type: "file", body: "the directory is gone" },
    ])), dest);
    expect(lstatSync(join(dest, "a/link")).isFile()).toBe(true);
    expect(readFileSync(join(dest, "a/b"), "utf8")).toBe("the directory is gone");
  });

  test("names that are not UTF-8 and binary xattrs (file capabilities) are kept byte for byte", async () => {
    const { dest } = scratch();
    // Written by hand: tar-stream (like any UTF-8 decoder) would change these bytes.
    const name = Buffer.from([0x66, 0xe9, 0xff]); // "f\xe9\xff"
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const record = (k: string, v: Buffer) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from("\n")]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      return Buffer.concat([Buffer.from(String(len)), body]);
    };
    const paxBody = Buffer.concat([record("SCHILY.xattr.user.bin", cap), ...(root ? [record("SCHILY.xattr.security.capability", cap)] : [])]);
    const paxHead = tarHeader("PaxHeader", paxBody.length);
    paxHead.write("x", 156, "latin1");
    fixChecksum(paxHead);
    const fileHead = tarHeader("x", 3);
    name.copy(fileHead, 0);
    fileHead.fill(0, name.length, 100);
    fixChecksum(fileHead);
    const tar = Buffer.concat([paxHead, pad(paxBody), fileHead, pad(Buffer.from("abc")), Buffer.alloc(1024)]);
    await unpackTar(once(tar), dest);
    const entries = readdirSync(dest, { encoding: "buffer" });
    expect(entries.length).toBe(1);
    expect(Buffer.compare(entries[0]!, name)).toBe(0);
    const dir = Dir.open(dest);
    try {
      expect(dir.getxattr(name, "user.bin")?.equals(cap)).toBe(true);
      if (root) expect(dir.getxattr(name, "security.capability")?.equals(cap)).toBe(true);
    } finally {
      dir.close();
    }
  });

  test("devices and fifos are made, never opened; owners kept (as root)", async () => {
    if (!root) return;
    const { dest } = scratch();
    await unpackTar(once(await tarOf([
      { name: "dev/sda", type: "block-device", mode: 0o660, devmajor: 8, devminor: 0, uid: 0, gid: 6 },
      { name: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 },
      { name: "run/fifo", type: "fifo", mode: 0o600 },
      { name: "home/u/f", type: "file", mode: 0o4750, uid: 1234, gid: 5678, body: "suid" },
    ])), dest);
    const sda = statSync(join(dest, "dev/sda"));
    expect([sda.isBlockDevice(), sda.rdev, sda.mode & 0o7777, sda.gid]).toEqual([true, 8 * 256, 0o660, 6]);
    expect(statSync(join(dest, "run/fifo")).isFIFO()).toBe(true);
    const f = statSync(join(dest, "home/u/f"));
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1234, 5678, 0o4750]);
  });
});

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

function fixChecksum(h: Buffer): void {
  h.write("        ", 148, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
}

describe("layer semantics", () => {
  test("whiteouts become overlay whiteouts, opaque markers an xattr; the layer's own entry wins", async () => {
    const { dest } = scratch();
    await unpackTar(once(await tarOf([
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/.wh.motd", type: "file" },
      { name: "etc/.wh.kept", type: "file" },
      { name: "etc/kept", type: "file", body: "this layer's own" },
      { name: "var/", type: "directory", mode: 0o755 },
      { name: "var/.wh..wh..opq", type: "file" },
      { name: "var/new", type: "file", body: "n" },
      { name: ".wh..wh.plnk", type: "directory" },
      { name: "tagged", type: "file", body: "t", pax: { "SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.kept": "yes" } },
    ])), dest);
    const wh = lstatSync(join(dest, "etc/motd"));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(readFileSync(join(dest, "etc/kept"), "utf8")).toBe("this layer's own");
    expect(existsSync(join(dest, "etc/.wh.motd"))).toBe(false);
    expect(existsSync(join(dest, ".wh..wh.plnk"))).toBe(false);
    const dir = Dir.open(dest);
    try {
      if (root) {
        expect(dir.getxattr("var", "trusted.overlay.opaque")?.toString()).toBe("y");
        expect(dir.getxattr("tagged", "trusted.overlay.redirect")).toBeUndefined();
      }
      expect(dir.getxattr("tagged", "user.kept")?.toString()).toBe("yes");
    } finally {
      dir.close();
    }
    expect(readdirSync(join(dest, "var"))).toEqual(["new"]);
  });

  test("a symbolic link in a lower layer does not lead the next layer out: each layer is its own directory", async () => {
    const { top, outside } = scratch();
    const lower = join(top, "lower");
    const upper = join(top, "upper");
    mkdirSync(lower);
    mkdirSync(upper);
    await unpackTar(once(await tarOf([{ name: "escape", type: "symlink", linkname: outside }])), lower);
    await unpackTar(once(await tarOf([{ name: "escape/pwned", type: "file", body: "x" }])), upper);
    expect(readFileSync(join(upper, "escape/pwned"), "utf8")).toBe("x");
    expect(lstatSync(join(upper, "escape")).isDirectory()).toBe(true);
    expectCanary(outside);
  });
});

describe("hostile archives: refused or harmless, nothing outside changes", () => {
  const cases: Array<[string, (o: string) => Entry[], string]> = [
    ["an absolute member path", (o) => [{ name: join(o, "pwned"), type: "file", body: "x" }], "it is an absolute path"],
    ["an absolute directory", (o) => [{ name: join(o, "sub") + "/", type: "directory", mode: 0o777 }], "it is an absolute path"],
    ["a .. component", () => [{ name: "../outside/pwned", type: "file", body: "x" }], "it contains '..'"],
    ["a .. in the middle", () => [{ name: "a/../../outside/target", type: "file", body: "x" }], "it contains '..'"],
    ["a file through a symlink made earlier", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/pwned", type: "file", body: "x" }], 'it would be written through the symbolic link "escape"'],
    ["a relative symlink pointing up, then written through", () => [{ name: "d/up", type: "symlink", linkname: "../../outside" }, { name: "d/up/pwned", type: "file", body: "x" }], 'it would be written through the symbolic link "d/up"'],
    ["a directory through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/sub/", type: "directory", mode: 0o777 }], 'through the symbolic link "escape"'],
    ["a symlink through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/pwned", type: "symlink", linkname: "/x" }], 'through the symbolic link "escape"'],
    ["a fifo through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/pwned", type: "fifo" }], 'through the symbolic link "escape"'],
    ["a whiteout through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "escape/.wh.target", type: "file" }], 'through the symbolic link "escape"'],
    ["an opaque marker through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: join(o, "sub") }, { name: "escape/.wh..wh..opq", type: "file" }], 'through the symbolic link "escape"'],
    ["a hard link to a path outside", (o) => [{ name: "h", type: "link", linkname: join(o, "target") }], "it is an absolute path"],
    ["a hard link with ..", () => [{ name: "h", type: "link", linkname: "../outside/target" }], "it contains '..'"],
    ["a hard link through a symlink", (o) => [{ name: "escape", type: "symlink", linkname: o }, { name: "h", type: "link", linkname: "escape/target" }], 'through the symbolic link "escape"'],
    ["a hard link to a symlink that points out, then written through", (o) => [{ name: "l", type: "symlink", linkname: o }, { name: "h", type: "link", linkname: "l" }, { name: "h/pwned", type: "file", body: "x" }], 'through the symbolic link "h"'],
    ["a hard link to a target that is not in the archive", () => [{ name: "h", type: "link", linkname: "nothing" }], 'its target "nothing" is not in the archive before it'],
    ["a file whose parent is a file", () => [{ name: "f", type: "file", body: "x" }, { name: "f/g", type: "file", body: "x" }], '"f" is not a directory'],
  ];
  for (const [what, entries, why] of cases) {
    test(what, async () => {
      const { dest, outside } = scratch();
      const msg = await refusal(await tarOf(entries(outside)), dest);
      expect(msg).toContain("refusing the archive entry");
      expect(msg).toContain(why);
      expectCanary(outside);
    });
  }

  test("a directory, then a symlink of the same name pointing out: its deferred mode, owner and times are not applied through the link", async () => {
    const { dest, outside } = scratch();
    await unpackTar(once(await tarOf([
      { name: "d/", type: "directory", mode: 0o777, mtime: new Date(5_000_000_000), ...(root ? { uid: 4321, gid: 4321 } : {}) },
      { name: "d", type: "symlink", linkname: join(outside, "sub") },
      { name: "e/", type: "directory", mode: 0o777 },
      { name: "e", type: "symlink", linkname: outside },
      { name: "./", type: "directory", mode: 0o755 },
    ])), dest);
    expect(readlinkSync(join(dest, "d"))).toBe(join(outside, "sub"));
    expectCanary(outside);
  });

  test("the root entry cannot be replaced by a link", async () => {
    const { dest, outside } = scratch();
    const msg = await refusal(await tarOf([{ name: "./", type: "symlink", linkname: outside }]), dest);
    expect(msg).toContain("it would replace the root of the image");
    expectCanary(outside);
  });

  test("lying and huge headers: a wrong checksum, a size beyond the data, an extended header of 2 MiB, a negative number", async () => {
    const { dest, outside } = scratch();
    const bad = tarHeader("f", 3);
    bad[0] = 0x67; // changed after the checksum was computed
    expect(await refusal(Buffer.concat([bad, pad(Buffer.from("abc")), Buffer.alloc(1024)]), dest)).toContain("has a wrong checksum");
    const long = tarHeader("f", 10 * 1024 ** 3);
    expect(await refusal(Buffer.concat([long, pad(Buffer.from("only this"))]), dest)).toContain("it ends in the middle of a file's data");
    const pax = tarHeader("PaxHeader", 2 * 1024 * 1024);
    pax.write("x", 156, "latin1");
    fixChecksum(pax);
    expect(await refusal(Buffer.concat([pax, Buffer.alloc(4096)]), dest)).toContain("an extended header of 2097152 bytes");
    const neg = tarHeader("f", 0);
    neg.fill(0xff, 124, 136);
    fixChecksum(neg);
    expect(await refusal(Buffer.concat([neg, Buffer.alloc(1024)]), dest)).toContain("a negative size");
    expect(await refusal(Buffer.from("this is not a tar archive at all".repeat(20)), dest)).toContain("not a tar archive");
    expectCanary(outside);
  });
});

describe("compression bombs", () => {
  test("a 33 kB zstd layer that inflates to 512 MiB is unpacked streaming, in little memory", async () => {
    const { dest } = scratch();
    // A tar of one 512 MiB file of zeros, compressed with zstd: the stream is made on the fly.
    const size = 512 * 1024 * 1024;
    const head = tarHeader("zeros", size);
    const chunk = Buffer.alloc(1 << 24);
    const parts: Buffer[] = [head];
    for (let i = 0; i < size / chunk.length; i++) parts.push(chunk);
    parts.push(Buffer.alloc(1024));
    const bomb = zstdCompressSync(Buffer.concat(parts));
    parts.length = 0;
    expect(bomb.length).toBeLessThan(100_000);
    const file = join(dest, "..", "bomb.zst");
    writeFileSync(file, bomb);
    // In a process of its own, to read its peak memory.
    const script = `
      const { unpackTar } = await import(${JSON.stringify(join(import.meta.dir, "../../src/image/unpack.ts"))});
      const { decompress, fileBytes } = await import(${JSON.stringify(join(import.meta.dir, "../../src/image/archive.ts"))});
      const d = await decompress(fileBytes(${JSON.stringify(file)}));
      await unpackTar(d.stream, ${JSON.stringify(dest)});
      const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status", "utf8"))[1]);
      console.log(hwm);`;
    const proc = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    expect(proc.stderr.toString()).toBe("");
    const peakKb = Number(proc.stdout.toString().trim());
    expect(statSync(join(dest, "zeros")).size).toBe(size);
    expect(peakKb).toBeLessThan(200 * 1024);
  }, 60_000);

  test("gzip and plain layers too", async () => {
    const { dest } = scratch();
    const tar = await tarOf([{ name: "a", type: "file", body: "gz" }]);
    const { decompress } = await import("../../src/image/archive");
    const d = await decompress(once(gzipSync(tar)));
    expect(d.compression).toBe("gzip");
    await unpackTar(d.stream, dest);
    expect(readFileSync(join(dest, "a"), "utf8")).toBe("gz");
  });
});

test("as root, files keep owners other than root's", async () => {
  if (!root) return;
  const { dest } = scratch();
  await unpackTar(once(await tarOf([{ name: "o", type: "file", uid: 1000, gid: 1000, body: "x" }, { name: "l", type: "symlink", linkname: "o", uid: 1001, gid: 1001 }])), dest);
  expect([statSync(join(dest, "o")).uid, lstatSync(join(dest, "l")).uid]).toEqual([1000, 1001]);
  chownSync(join(dest, "o"), 0, 0);
});
