// src/copy: trees walked as archive entries, the tar writer read back, box cp's rules, and trees
// that hold hostile links (checked against a canary tree outside, which must stay untouched).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerSource, copyToContainer, copyToHost, hostSource, type CopyOptions } from "../../src/copy/cp";
import { writeTar } from "../../src/copy/tar-write";
import { asSentence, DirTree, LayersTree, resolvePath } from "../../src/copy/tree";
import { TreeSource } from "../../src/copy/walk";
import { Dir } from "../../src/fs/dir";
import { TarReader, type TarEntry } from "../../src/image/tar";
import { unpackLayer } from "../../src/image/unpack";

const top = mkdtempSync(join(tmpdir(), "box-copy-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(top, `d${n++}`);
  mkdirSync(d);
  return d;
};

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(" ")}: ${await new Response(p.stderr).text()}`);
  return out;
}

async function tarOf(tree: DirTree | LayersTree, rel = "", opts: { layer?: boolean } = {}): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  await writeTar(new TreeSource(tree, Buffer.from(rel), { as: Buffer.alloc(0), ...opts }), (c) => void chunks.push(Buffer.from(c)));
  return Buffer.concat(chunks);
}

async function entriesOf(tar: Buffer): Promise<TarEntry[]> {
  const r = new TarReader((async function* () { yield tar; })());
  const out: TarEntry[] = [];
  for (let e = await r.next(); e; e = await r.next()) out.push(e);
  return out;
}

function setxattr(dir: string, rel: string, name: string, value: Buffer): void {
  const d = Dir.open(dir, "beneath");
  d.setxattr(rel, name, value);
  d.close();
}

function xattrsOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const d = Dir.open(path.slice(0, slash), "beneath");
  try {
    return d.xattrs(Buffer.from(path.slice(slash + 1), "latin1")).map(([k, v]) => `${k}=${v.toString("hex")}`).join(",");
  } finally {
    d.close();
  }
}

/** Everything a tree holds, as comparable text (type, mode, owner, size, times, target, xattrs, content). */
function describeTree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel), { encoding: "buffer" }).sort(Buffer.compare)) {
    const r = rel ? `${rel}/${name.toString("latin1")}` : name.toString("latin1");
    const p = Buffer.from(join(dir, r), "latin1");
    const st = lstatSync(p);
    let what = `${r} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} ${st.isSymbolicLink() ? "" : xattrsOf(p.toString("latin1"))}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p, "latin1")}`;
    else if (st.isFile()) what += ` ${readFileSync(p).toString("hex").slice(0, 64)} nlink=${st.nlink}`;
    else if (st.isCharacterDevice()) what += ` rdev=${st.rdev}`;
    out.push(what);
    if (st.isDirectory()) out.push(...describeTree(dir, r));
  }
  return out;
}

describe("a tree as a tar stream, and back", () => {
  test("long and non-UTF-8 names, long link targets, hard links, fifos, devices, setuid, big ids, xattrs", async () => {
    const src = fresh();
    const long = "d".repeat(120);
    mkdirSync(join(src, long, "e".repeat(150)), { recursive: true });
    writeFileSync(join(src, long, "e".repeat(150), "f".repeat(200)), "deep");
    writeFileSync(Buffer.from(join(src, "caf\xe9"), "latin1"), "latin1 name");
    symlinkSync("/" + "t".repeat(300), join(src, "longlink"));
    writeFileSync(join(src, "a"), "hard");
    linkSync(join(src, "a"), join(src, "b"));
    await run(["mkfifo", join(src, "fifo")]);
    await run(["mknod", join(src, "null"), "c", "1", "3"]);
    writeFileSync(join(src, "suid"), "#!/bin/sh\n");
    chownSync(join(src, "suid"), 3_000_000, 5678);
    chmodSync(join(src, "suid"), 0o4755);
    setxattr(src, "a", "user.note", Buffer.from([0, 1, 2, 3, 4]));
    setxattr(src, "suid", "security.capability", Buffer.from("0100000200200000000000000000000000000000", "hex"));
    for (const f of ["a", "suid", "fifo"]) utimesSync(join(src, f), 1_000_000, 1_234_567);
    const tree = new DirTree(Dir.open(src, "beneath"));
    const tar = await tarOf(tree);
    tree.close();
    const entries = await entriesOf(tar);
    expect(entries.find((e) => e.name.toString("latin1") === "b")).toMatchObject({ type: "link", linkname: Buffer.from("a") });
    expect(entries.find((e) => e.name.toString() === "suid")).toMatchObject({ uid: 3_000_000, gid: 5678, mode: 0o4755 });
    expect(entries.find((e) => e.name.toString() === "null")).toMatchObject({ type: "char", devmajor: 1, devminor: 3 });
    expect(entries.find((e) => e.name.toString() === "a")!.xattrs).toEqual([["user.note", Buffer.from([0, 1, 2, 3, 4])]]);
    // GNU tar reads it too.
    const file = join(top, `t${n++}.tar`);
    writeFileSync(file, tar);
    expect(await run(["tar", "-tf", file])).toContain(`${long}/${"e".repeat(150)}/${"f".repeat(200)}`);
    const dest = fresh();
    const d = Dir.open(dest, "beneath");
    await unpackLayer(new TarReader((async function* () { yield tar; })()), d);
    d.close();
    expect(describeTree(dest)).toEqual(describeTree(src));
  });

  test("the same tree gives the same bytes (a layer's diffID is stable)", async () => {
    const src = fresh();
    writeFileSync(join(src, "x"), "x");
    mkdirSync(join(src, "d"));
    const a = new DirTree(Dir.open(src, "beneath"));
    const b = new DirTree(Dir.open(src, "beneath"));
    expect((await tarOf(a)).equals(await tarOf(b))).toBe(true);
    a.close();
    b.close();
  });
});

describe("layers", () => {
  async function layers() {
    const lower = fresh(), upper = fresh();
    mkdirSync(join(lower, "etc/apk"), { recursive: true });
    writeFileSync(join(lower, "etc/motd"), "hello");
    writeFileSync(join(lower, "etc/apk/world"), "old");
    writeFileSync(join(lower, "keep"), "k");
    mkdirSync(join(upper, "etc/apk"), { recursive: true });
    await run(["mknod", join(upper, "etc/motd"), "c", "0", "0"]);
    setxattr(upper, "etc/apk", "trusted.overlay.opaque", Buffer.from("y"));
    writeFileSync(join(upper, "etc/apk/new"), "new");
    return { lower, upper };
  }

  test("the merged view hides what whiteouts and opaque directories hide", async () => {
    const { lower, upper } = await layers();
    const tree = new LayersTree([upper, lower]);
    const names = (await entriesOf(await tarOf(tree))).map((e) => e.name.toString());
    tree.close();
    expect(names).toEqual(["etc/", "etc/apk/", "etc/apk/new", "keep"]);
  });

  test("an upper directory as a layer: OCI whiteouts; a redirect is refused", async () => {
    const { upper } = await layers();
    const tree = new DirTree(Dir.open(upper, "beneath"));
    const names = (await entriesOf(await tarOf(tree, "", { layer: true }))).map((e) => `${e.name} ${e.type} ${e.xattrs.length}`);
    expect(names).toEqual(["etc/ dir 0", "etc/apk/ dir 0", "etc/apk/.wh..wh..opq file 0", "etc/apk/new file 0", "etc/.wh.motd file 0"]);
    setxattr(upper, "etc", "trusted.overlay.redirect", Buffer.from("/x"));
    await expect(tarOf(tree, "", { layer: true })).rejects.toThrow("box cannot turn it into a layer yet");
    tree.close();
  });
});

describe("links inside a tree never lead out of it", () => {
  function hostile() {
    const canary = fresh();
    writeFileSync(join(canary, "secret"), "host secret");
    chmodSync(join(canary, "secret"), 0o600);
    utimesSync(join(canary, "secret"), 1000, 2000);
    const root = fresh();
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc/secret"), "container's own");
    symlinkSync(canary, join(root, "abs"));
    symlinkSync("../../../../../../../../.." + canary, join(root, "dots"));
    symlinkSync("/etc", join(root, "etclink"));
    symlinkSync("loop2", join(root, "loop1"));
    symlinkSync("loop1", join(root, "loop2"));
    return { canary, root, before: describeTree(canary) };
  }
  const opts: CopyOptions = { archive: false, followLink: false, warn: () => undefined };

  test("resolvePath: absolute links start again at the tree's root, .. stops there, loops end", () => {
    const { root } = hostile();
    const tree = new DirTree(Dir.open(root, "beneath"));
    expect(resolvePath(tree, Buffer.from("/abs/secret"), true)).toBeUndefined();
    expect(resolvePath(tree, Buffer.from("/dots/secret"), true)).toBeUndefined();
    expect(resolvePath(tree, Buffer.from("/etclink/secret"), true)?.rel.toString()).toBe("etc/secret");
    expect(resolvePath(tree, Buffer.from("/../../etc/./secret"), true)?.rel.toString()).toBe("etc/secret");
    expect(resolvePath(tree, Buffer.from("/etclink"), false)?.stat.type).toBe("symlink");
    expect(() => resolvePath(tree, Buffer.from("/loop1"), true)).toThrow("more than 40 symbolic links");
    tree.close();
  });

  test("cp out of it and into it: the canary outside stays as it was", async () => {
    const { canary, root, before } = hostile();
    const side = { tree: new DirTree(Dir.open(root, "beneath")), dirAt: (rel: Buffer) => Dir.open(root, "beneath").openDir(rel) };
    expect(() => containerSource(side, "/abs/secret", opts)).toThrow("no such file or directory in the container: /abs/secret");
    const out = fresh();
    await copyToHost(containerSource(side, "/abs", opts), out, opts); // the link itself
    expect(readlinkSync(join(out, "abs"))).toBe(canary);
    await copyToHost(containerSource(side, "/etclink/secret", { ...opts, followLink: true }), join(out, "s"), opts);
    expect(readFileSync(join(out, "s"), "utf8")).toBe("container's own");
    writeFileSync(join(out, "pwn"), "pwned");
    await expect(copyToContainer(hostSource(join(out, "pwn"), opts), side, "/abs/secret", opts)).rejects.toThrow("does not exist in the container");
    await expect(copyToContainer(hostSource(join(out, "pwn"), opts), side, "/dots/", opts)).rejects.toThrow("must exist");
    await copyToContainer(hostSource(join(out, "pwn"), opts), side, "/etclink/secret", opts); // through a link inside: lands inside
    expect(readFileSync(join(root, "etc/secret"), "utf8")).toBe("pwned");
    side.tree.close();
    expect(describeTree(canary)).toEqual(before);
  });

  test("a directory swapped for a link after it was resolved: the copy fails, nothing is read through it", async () => {
    const { canary, root, before } = hostile();
    mkdirSync(join(root, "dir/sub"), { recursive: true });
    writeFileSync(join(root, "dir/sub/f"), "container's");
    const side = { tree: new DirTree(Dir.open(root, "beneath")), dirAt: (rel: Buffer) => Dir.open(root, "beneath").openDir(rel) };
    const src = containerSource(side, "/dir", opts);
    rmSync(join(root, "dir/sub"), { recursive: true });
    symlinkSync(canary, join(root, "dir/sub")); // as a running container could, between resolving and reading
    const out = fresh();
    await expect(copyToHost(src, out, opts)).resolves.toBeUndefined(); // the link itself is copied, as a link
    expect(readlinkSync(join(out, "dir/sub"))).toBe(canary);
    expect(readdirSync(join(out, "dir"))).toEqual(["sub"]);
    // Swapped while the walk is in it: listed as a directory, a link when entered.
    mkdirSync(join(root, "walk/inner"), { recursive: true });
    writeFileSync(join(root, "walk/inner/f"), "container's");
    const racing = new DirTree(Dir.open(root, "beneath"));
    const list = racing.list.bind(racing);
    racing.list = (rel: Buffer) => {
      const entries = list(rel);
      if (rel.toString() === "walk") {
        rmSync(join(root, "walk/inner"), { recursive: true });
        symlinkSync(canary, join(root, "walk/inner"));
      }
      return entries;
    };
    const dest = fresh();
    await expect(asSentence(() => copyToHost(containerSource({ tree: racing }, "/walk", opts), dest, opts))).rejects.toThrow('cannot list "walk/inner": too many levels of symbolic links (a symbolic link is in the way)');
    expect(readdirSync(join(dest, "walk"))).toEqual(["inner"]);
    expect(readdirSync(join(dest, "walk/inner"))).toEqual([]);
    racing.close();
    side.tree.close();
    expect(describeTree(canary)).toEqual(before);
  });

  test("docker's rules: a directory never replaced by a file, nor a file by a directory; .wh. names are plain files", async () => {
    const src = fresh();
    mkdirSync(join(src, "dir"));
    writeFileSync(join(src, "dir/.wh.x"), "plain");
    writeFileSync(join(src, "file"), "f");
    const dest = fresh();
    mkdirSync(join(dest, "file"));
    writeFileSync(join(dest, "dir"), "i am a file");
    const side = { tree: new DirTree(Dir.open(dest, "beneath")), dirAt: (rel: Buffer) => Dir.open(dest, "beneath").openDir(rel) };
    await expect(copyToContainer(hostSource(join(src, "dir"), opts), side, "/dir", opts)).rejects.toThrow("cannot copy a directory to a file");
    await expect(copyToContainer(hostSource(join(src, "file"), opts), side, "/", opts)).rejects.toThrow('cannot overwrite the directory "file" with a non-directory');
    await copyToContainer(hostSource(join(src, "dir"), opts), side, "/new", opts);
    expect(readFileSync(join(dest, "new/.wh.x"), "utf8")).toBe("plain");
    await copyToContainer(hostSource(join(src, "dir") + "/.", opts), side, "/new2", opts);
    expect(readdirSync(join(dest, "new2"))).toEqual([".wh.x"]);
    await expect(copyToContainer(hostSource(join(src, "file"), opts), side, "/nodir/", opts)).rejects.toThrow("the destination directory /nodir/ must exist");
    side.tree.close();
  });
});
