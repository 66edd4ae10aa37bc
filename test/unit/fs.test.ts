// src/fs: every operation stays inside its directory, whatever symbolic links lie in the way.
// A canary tree outside the directory is checked for owner, mode, times and content after each
// attack. Parts that need root (chown to another id, device nodes, trusted.* xattrs, mounts) run
// only as root.
import { afterEach, describe, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Dir, FsError } from "../../src/fs/dir";
import { expectCanary, makeCanary } from "./canary";

const root = process.getuid?.() === 0;
const tops: string[] = [];
const open: Dir[] = [];

afterEach(() => {
  for (const d of open.splice(0)) d.close();
  for (const t of tops.splice(0)) {
    rmSync(t, { recursive: true, force: true });
  }
});

/** dest (the Dir) and outside (the canary: a file and a directory with known metadata). */
function setup(mode: "beneath" | "in-root" = "beneath") {
  const { top, dest, outside } = makeCanary("box-fs-");
  tops.push(top);
  const dir = Dir.open(dest, mode);
  open.push(dir);
  return { top, dest, outside, dir };
}

function errorOf(fn: () => unknown): FsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FsError) return err;
    throw err;
  }
  throw new Error("no error was thrown");
}

describe("plain operations", () => {
  test("mkdir, mkdirs, createFile, readFile, symlink, link, rename, list, lstat, unlink, rmdir", () => {
    const { dest, dir } = setup();
    dir.mkdir("a", 0o755);
    dir.mkdirs("a/b/c/d", 0o700);
    const fd = dir.createFile("a/b/file", 0o600);
    writeSync(fd, "hello");
    closeSync(fd);
    expect(dir.readFile("a/b/file", 100).toString()).toBe("hello");
    dir.symlink("/etc/passwd", "a/abs");
    dir.symlink("../b", "a/rel");
    expect(readlinkSync(join(dest, "a/abs"))).toBe("/etc/passwd");
    expect(dir.readlink("a/rel").toString()).toBe("../b");
    dir.link("a/b/file", "a/hard");
    expect(statSync(join(dest, "a/hard")).ino).toBe(statSync(join(dest, "a/b/file")).ino);
    dir.rename("a/hard", "a/moved");
    expect(dir.list("a").map((e) => e.name).sort()).toEqual(["abs", "b", "moved", "rel"]);
    const st = dir.lstat("a/abs");
    expect([st.type, st.size]).toEqual(["symlink", "/etc/passwd".length]);
    expect(dir.lstat("a/b").type).toBe("dir");
    expect(dir.lstat("").type).toBe("dir");
    expect(dir.tryLstat("a/nope")).toBeUndefined();
    expect(dir.tryLstat("a/b/file/x")).toBeUndefined();
    dir.unlink("a/moved");
    dir.rmdir("a/b/c/d");
    expect(existsSync(join(dest, "a/b/c/d"))).toBe(false);
    expect(() => dir.createFile("a/b/file")).toThrow(FsError);
    const again = dir.createFile("a/b/file", 0o644, { replace: true });
    closeSync(again);
    expect(statSync(join(dest, "a/b/file")).size).toBe(0);
  });

  test("chown, chmod with special bits, utimes with nanoseconds, xattrs, on the entry itself", () => {
    const { dest, dir } = setup();
    closeSync(dir.createFile("f", 0o644));
    dir.chmod("f", 0o4755);
    expect(statSync(join(dest, "f")).mode & 0o7777).toBe(0o4755);
    dir.utimes("f", { sec: 1_600_000_000, nsec: 5 }, { sec: 1_700_000_000, nsec: 123_456_789 });
    const st = dir.lstat("f");
    expect([st.mtime.sec, st.mtime.nsec, st.atime.sec]).toEqual([1_700_000_000, 123_456_789, 1_600_000_000]);
    dir.setxattr("f", "user.box", Buffer.from([0, 0xff, 0x80, 1]));
    expect([...dir.getxattr("f", "user.box")!]).toEqual([0, 0xff, 0x80, 1]);
    expect(dir.getxattr("f", "user.none")).toBeUndefined();
    dir.utimes("", { sec: 5, nsec: 0 }, { sec: 6, nsec: 0 });
    expect(statSync(dest).mtimeMs).toBe(6000);
    if (root) {
      dir.chown("f", 1234, 5678);
      expect([statSync(join(dest, "f")).uid, statSync(join(dest, "f")).gid]).toEqual([1234, 5678]);
      dir.chmod("f", 0o4755); // chown clears setuid: set it again after
      dir.mkdir("d");
      dir.setxattr("d", "trusted.overlay.opaque", Buffer.from("y"));
      expect(dir.getxattr("d", "trusted.overlay.opaque")?.toString()).toBe("y");
      dir.symlink("f", "l");
      dir.setxattr("l", "trusted.box", Buffer.from("on the link"));
      expect(dir.getxattr("l", "trusted.box")?.toString()).toBe("on the link");
      expect(dir.getxattr("f", "trusted.box")).toBeUndefined();
    }
  });

  test("writeFileAtomic replaces a file whole and leaves no scratch file; never through a link", () => {
    const { dest, outside, dir } = setup();
    dir.writeFileAtomic("state", "one");
    dir.writeFileAtomic("state", "two", 0o600);
    expect(readFileSync(join(dest, "state"), "utf8")).toBe("two");
    expect(statSync(join(dest, "state")).mode & 0o777).toBe(0o600);
    dir.symlink(outside, "out");
    expect(errorOf(() => dir.writeFileAtomic("out/target", "pwned")).code).toBe("ELOOP");
    expect(dir.list().map((e) => e.name).sort()).toEqual(["out", "state"]);
    expectCanary(outside);
  });

  test("names that are not UTF-8 are kept byte for byte", () => {
    const { dir } = setup();
    const name = Buffer.from([0x66, 0xe9, 0xff, 0x2e, 0x74]); // "f\xe9\xff.t"
    closeSync(dir.createFile(name));
    const listed = dir.list();
    expect(listed.length).toBe(1);
    expect(Buffer.compare(listed[0]!.raw, name)).toBe(0);
    dir.unlink(listed[0]!.raw);
    expect(dir.list()).toEqual([]);
  });

  test("errors carry errno, code, operation and the relative path", () => {
    const { dir } = setup();
    const err = errorOf(() => dir.readFile("no/such", 10));
    expect([err.errno, err.code, err.path]).toEqual([2, "ENOENT", "no/such"]);
    expect(err.message).toBe('cannot open the file "no/such": no such file or directory');
    closeSync(dir.createFile("big"));
    const w = dir.createFile("big", 0o644, { replace: true });
    writeSync(w, "x".repeat(100));
    closeSync(w);
    expect(errorOf(() => dir.readFile("big", 99)).code).toBe("EFBIG");
    expect(dir.readFile("big", 100).length).toBe(100);
    expect(errorOf(() => dir.mkdir("..")).code).toBe("EINVAL");
    expect(errorOf(() => dir.mkdir("a\0b")).code).toBe("EINVAL");
  });

  test("openFile refuses directories, fifos and devices without opening them for reading", () => {
    const { dir } = setup();
    dir.mkdir("d");
    dir.mknod("fifo", "fifo", 0o644);
    expect(errorOf(() => dir.openFile("d")).message).toContain("it is a directory, not a regular file");
    // Opening a fifo for reading would block until a writer comes: it is refused at once.
    expect(errorOf(() => dir.openFile("fifo")).message).toContain("it is a fifo, not a regular file");
    if (root) {
      dir.mknod("null", "char", 0o666, 1, 3);
      const st = dir.lstat("null");
      expect([st.type, st.rdevMajor, st.rdevMinor]).toEqual(["char", 1, 3]);
      expect(errorOf(() => dir.readFile("null", 10)).message).toContain("it is a char, not a regular file");
    }
  });
});

describe("beneath: a symbolic link anywhere is refused, nothing outside changes", () => {
  // Each attack: a link inside dest pointing at the canary, then an operation through or on it.
  const attacks: Array<[string, (dir: Dir, outside: string) => void, string]> = [
    ["mkdir through a link", (d) => d.mkdir("out/pwned"), "ELOOP"],
    ["mkdirs through a link", (d) => d.mkdirs("out/pwned/x"), "ELOOP"],
    ["createFile through a link", (d) => d.createFile("out/pwned"), "ELOOP"],
    ["createFile on a final link", (d) => d.createFile("outfile"), "EEXIST"],
    ["createFile replacing a final link", (d) => d.createFile("outfile", 0o644, { replace: true }), "ELOOP"],
    ["readFile through a link", (d) => d.readFile("out/target", 100), "ELOOP"],
    ["readFile of a final link", (d) => d.readFile("outfile", 100), "ELOOP"],
    ["symlink through a link", (d) => d.symlink("x", "out/pwned"), "ELOOP"],
    ["hard link from a file outside", (d) => d.link("out/target", "h"), "ELOOP"],
    ["hard link into a directory outside", (d) => { d.mkdir("x"); d.link("x", "out/pwned"); }, "ELOOP"],
    ["mknod through a link", (d) => d.mknod("out/pwned", "fifo", 0o644), "ELOOP"],
    ["chmod through a link", (d) => d.chmod("out/target", 0o777), "ELOOP"],
    ["chmod of a final link (never followed)", (d) => d.chmod("outfile", 0o777), "ELOOP"],
    ["chmod of a final link to a directory", (d) => d.chmod("out", 0o777), "ELOOP"],
    ["chown through a link", (d) => d.chown("out/target", 4321, 4321), "ELOOP"],
    ["utimes through a link", (d) => d.utimes("out/target", { sec: 1, nsec: 0 }, { sec: 1, nsec: 0 }), "ELOOP"],
    ["setxattr through a link", (d) => d.setxattr("out/target", "user.pwned", Buffer.from("1")), "ELOOP"],
    ["unlink through a link", (d) => d.unlink("out/target"), "ELOOP"],
    ["rmdir through a link", (d) => d.rmdir("out/sub"), "ELOOP"],
    ["rename out through a link", (d) => { d.mkdir("x"); d.rename("x", "out/pwned"); }, "ELOOP"],
    ["rename in from outside", (d) => d.rename("out/target", "stolen"), "ELOOP"],
    ["list through a link", (d) => d.list("out"), "ELOOP"],
    ["openDir through a link", (d) => d.openDir("out"), "ELOOP"],
    ["lstat through a link", (d) => d.lstat("out/target"), "ELOOP"],
    ["stat of a final link", (d) => d.stat("outfile"), "ELOOP"],
    ["an absolute path", (d, o) => d.createFile(join(o, "pwned")), "EXDEV"],
    ["'..' out of the directory", (d) => d.createFile("../outside/pwned"), "EXDEV"],
    ["'..' in the middle", (d) => { d.mkdir("a"); d.createFile("a/../../outside/pwned"); }, "EXDEV"],
    ["a relative link climbing out", (d) => { d.symlink("../outside", "up"); d.createFile("up/pwned"); }, "ELOOP"],
    ["a magic link", (d) => { d.symlink("/proc/self/cwd", "magic"); d.createFile("magic/pwned"); }, "ELOOP"],
  ];
  for (const [what, attack, code] of attacks) {
    test(what, () => {
      const { outside, dir } = setup("beneath");
      dir.symlink(outside, "out");
      dir.symlink(join(outside, "target"), "outfile");
      const err = errorOf(() => attack(dir, outside));
      expect(err.code).toBe(code);
      expectCanary(outside);
    });
  }

  test("on a final link, chown and utimes change the link itself, not its target", () => {
    const { dest, outside, dir } = setup("beneath");
    dir.symlink(join(outside, "target"), "outfile");
    dir.utimes("outfile", { sec: 7, nsec: 0 }, { sec: 7, nsec: 0 });
    expect(lstatSync(join(dest, "outfile")).mtimeMs).toBe(7000);
    if (root) {
      dir.chown("outfile", 4321, 4321);
      expect(lstatSync(join(dest, "outfile")).uid).toBe(4321);
    }
    dir.unlink("outfile"); // removes the link, not the target
    expectCanary(outside);
  });

  test("a directory replaced by a link: metadata applied later by path refuses the link", () => {
    const { outside, dir } = setup("beneath");
    dir.mkdir("etc");
    dir.rmdir("etc");
    dir.symlink(join(outside, "sub"), "etc");
    expect(errorOf(() => dir.chmod("etc", 0o777)).code).toBe("ELOOP");
    expect(errorOf(() => dir.setxattr("etc/x", "user.a", Buffer.from("1"))).code).toBe("ELOOP");
    dir.utimes("etc", { sec: 1, nsec: 0 }, { sec: 1, nsec: 0 }); // the link's own times
    if (root) dir.chown("etc", 4321, 4321); // the link's own owner
    expectCanary(outside);
  });
});

describe("in-root: links resolve as if the directory were /", () => {
  test("absolute and climbing links stay inside; magic links are refused", () => {
    const { dest, outside, dir } = setup("in-root");
    mkdirSync(join(dest, "etc"));
    writeFileSync(join(dest, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    symlinkSync("/etc/passwd", join(dest, "abs"));
    symlinkSync("../../../../../etc/passwd", join(dest, "etc/climb"));
    symlinkSync("/etc", join(dest, "etclink"));
    symlinkSync(join(outside, "target"), join(dest, "hostpath"));
    symlinkSync("/proc/self/root/etc/passwd", join(dest, "magic"));
    expect(dir.readFile("abs", 1000).toString()).toStartWith("root:x:0:0");
    expect(dir.readFile("/etc/climb", 1000).toString()).toStartWith("root:x:0:0");
    expect(dir.readFile("etclink/passwd", 1000).toString()).toStartWith("root:x:0:0");
    expect(dir.readFile("../../../etc/passwd", 1000).toString()).toStartWith("root:x:0:0");
    // A host path written as a link resolves inside the root, where it does not exist.
    expect(errorOf(() => dir.readFile("hostpath", 1000)).code).toBe("ENOENT");
    if (root) {
      // With a real /proc inside the root (as in a container), /proc/self/... is a magic link.
      mkdirSync(join(dest, "proc"));
      expect(Bun.spawnSync(["mount", "--bind", "/proc", join(dest, "proc")]).exitCode).toBe(0);
      try {
        expect(errorOf(() => dir.readFile("magic", 1000)).code).toBe("ELOOP");
      } finally {
        Bun.spawnSync(["umount", "-l", join(dest, "proc")]);
      }
    }
    expect(dir.stat("abs").type).toBe("file");
    expect(dir.lstat("abs").type).toBe("symlink");
    // Changes through links land inside the root.
    closeSync(dir.createFile("etclink/new"));
    expect(existsSync(join(dest, "etc/new"))).toBe(true);
    expectCanary(outside);
  });
});

describe("removeTree", () => {
  test("removes any depth, removes links without following them, and a missing path is fine", () => {
    const { dest, outside, dir } = setup();
    dir.mkdir("d");
    let sub = dir.openDir("d");
    const depth = 600;
    for (let i = 0; i < depth; i++) {
      sub.mkdir("d", 0o500);
      if (i % 50 === 0) closeSync(sub.createFile("f"));
      sub.symlink(outside, "out");
      const next = sub.openDir("d");
      sub.close();
      sub = next;
    }
    sub.close();
    dir.symlink(join(outside, "sub"), "linkdir");
    dir.removeTree("d");
    dir.removeTree("linkdir");
    dir.removeTree("nothing/here");
    expect(dir.list()).toEqual([]);
    expect(existsSync(join(dest, "d"))).toBe(false);
    expectCanary(outside);
  });

  test("a read-only directory tree goes too (as root)", () => {
    if (!root) return;
    const { dir } = setup();
    dir.mkdirs("ro/a/b");
    closeSync(dir.createFile("ro/a/b/f"));
    dir.chmod("ro/a/b", 0o500);
    dir.chmod("ro/a", 0o500);
    dir.removeTree("ro");
    expect(dir.list()).toEqual([]);
  });

  test("stops at a mount point inside: nothing on the mount is touched", () => {
    if (!root) return;
    const { dest, dir } = setup();
    dir.mkdirs("tree/mnt");
    closeSync(dir.createFile("tree/before"));
    mkdirSync(join(dest, "mnt"));
    // Mount a tmpfs inside the tree, with a file on it.
    const tmp = join(dest, "tree/mnt");
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", tmp]).exitCode).toBe(0);
    try {
      writeFileSync(join(tmp, "on-the-mount"), "keep");
      const err = errorOf(() => dir.removeTree("tree"));
      expect(err.code).toBe("EXDEV");
      expect(err.path).toBe("tree/mnt");
      expect(readFileSync(join(tmp, "on-the-mount"), "utf8")).toBe("keep");
    } finally {
      Bun.spawnSync(["umount", tmp]);
    }
  });
});
