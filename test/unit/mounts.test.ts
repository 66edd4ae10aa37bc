// -v, --mount, --tmpfs, --shm-size as docker parses them, and what they become in the spec and plan.
import { describe, expect, test } from "bun:test";
import { sourceRestrictions } from "../../src/container/volumes";
import { buildSpec, type SpecInput } from "../../src/spec/build";
import { checkDataOptions, parseTmpfsFlag } from "../../src/spec/mount-options";
import { parseMountFlag, parseVolumeFlag } from "../../src/spec/mounts";
import { planRecords } from "../../src/spec/plan";
import { checkRequest } from "../../src/spec/request";
import type { Mount } from "../../src/spec/types";

describe("-v", () => {
  test("host path, volume name, anonymous volume, modes", () => {
    expect(parseVolumeFlag("/srv/app:/src")).toEqual({ type: "bind", source: "/srv/app", target: "/src", readonly: false, recursive: true, create: true, mode: "" });
    expect(parseVolumeFlag("/srv//app/:/src/:ro,z")).toEqual({ type: "bind", source: "/srv/app", target: "/src", readonly: true, recursive: false, create: true, mode: "ro,z" });
    expect(parseVolumeFlag("/a:/b:rprivate")).toMatchObject({ type: "bind", readonly: false });
    expect(parseVolumeFlag("data:/var/lib/data")).toEqual({ type: "volume", name: "data", target: "/var/lib/data", readonly: false, noCopy: false, mode: "" });
    expect(parseVolumeFlag("data:/d:ro,nocopy")).toMatchObject({ type: "volume", name: "data", readonly: true, noCopy: true });
    expect(parseVolumeFlag("/cache")).toEqual({ type: "volume", target: "/cache", readonly: false, noCopy: false, mode: "" });
    expect(parseVolumeFlag("/a:/x/../b/./c")).toMatchObject({ target: "/b/c" });
  });

  test("docker's refusals, each one sentence", () => {
    const bad: Array<[string, string]> = [
      ["./src:/src", 'invalid volume name "./src"'],
      ["src/x:/src", 'invalid volume name "src/x"'],
      ["a:/src", 'invalid volume name "a"'],
      ["/a:src", 'the target "src" must be an absolute path'],
      ["/a:/", "the target cannot be /"],
      ["/a:/proc/sys", "box mounts /proc itself"],
      ["/a:/dev", "box mounts /dev itself"],
      ["/a:/b:rw,ro", 'invalid mode "rw,ro"'],
      ["/a:/b:bogus", 'invalid mode "bogus"'],
      ["/a:/b:shared", "shared propagation is not supported"],
      ["/a:/b:nocopy", "nocopy is for volumes"],
      ["v1:/b:rslave", "propagation is for binds"],
      ["/data:ro", "give SOURCE:TARGET:ro"],
      ["a:b:c:d", "use SOURCE:TARGET[:MODE] or TARGET"],
      [":/b", "the source is empty"],
      ["relative", 'the target "relative" must be an absolute path'],
    ];
    for (const [spec, message] of bad) expect(() => parseVolumeFlag(spec), spec).toThrow(message);
  });
});

describe("--mount", () => {
  test("bind, volume, tmpfs with their options", () => {
    expect(parseMountFlag("type=bind,source=/h,target=/c,readonly")).toEqual({ type: "bind", source: "/h", target: "/c", readonly: true, recursive: false, create: false, mode: "" });
    expect(parseMountFlag("type=bind,src=/h,dst=/c,bind-propagation=rprivate,bind-recursive=writable,ro=true")).toMatchObject({ readonly: true, recursive: true });
    expect(parseMountFlag("type=bind,src=/h,dst=/c,bind-nonrecursive")).toMatchObject({ recursive: false, readonly: false });
    expect(parseMountFlag("source=vv,target=/d,volume-nocopy,volume-label=a=b,volume-label=c")).toEqual({ type: "volume", name: "vv", target: "/d", readonly: false, noCopy: true, labels: { a: "b", c: "" }, mode: "" });
    expect(parseMountFlag("type=volume,destination=/anon")).toEqual({ type: "volume", target: "/anon", readonly: false, noCopy: false, mode: "" });
    expect(parseMountFlag("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770")).toEqual({ type: "tmpfs", target: "/t", options: ["nosuid", "nodev", "noexec", `size=${64 << 20}`, "mode=1770"] });
    expect(parseMountFlag('"type=bind","source=/a,b",target=/c')).toMatchObject({ source: "/a,b" });
  });

  test("refusals", () => {
    const bad: Array<[string, string]> = [
      ["type=bind,target=/c", "a bind needs a source"],
      ["type=bind,source=rel,target=/c", 'the bind source "rel" must be an absolute path'],
      ["type=bind,source=/a", "target is required"],
      ["type=bind,source=/a,target=/c,foo=1", 'unexpected key "foo"'],
      ["type=bind,source=/a,target=/c,volume-nocopy", "volume-nocopy is not an option of type=bind"],
      ["type=volume,source=/abs,target=/c", 'invalid volume name "/abs"'],
      ["type=tmpfs,source=x,target=/c", "a tmpfs has no source"],
      ["type=tmpfs,target=/c,tmpfs-mode=999", 'the mode "999" is not an octal number'],
      ["type=tmpfs,target=/c,tmpfs-size=lots", 'invalid tmpfs-size "lots"'],
      ["type=npipe,target=/c", "type is bind, volume or tmpfs"],
      ["type=bind,source=/a,target=/c,readonly=maybe", 'invalid value for readonly: "maybe"'],
      ["type=bind,source=/a,target=/c,bind-propagation=rshared", "rshared propagation is not supported"],
      ["type=bind,source=/a,target=/c,bind-recursive=readonly", "bind-recursive=readonly is not supported yet"],
      ["type=volume,target=/c,volume-driver=nfs", "box's volumes are local"],
      ["type=bind,source=/a,target", 'the field "target" must be a key=value pair'],
      ['type=bind,"source=/a', "a quote is not closed"],
    ];
    for (const [spec, message] of bad) expect(() => parseMountFlag(spec), spec).toThrow(message);
  });
});

describe("--tmpfs, --shm-size, together", () => {
  test("docker's defaults, then the options", () => {
    expect(parseTmpfsFlag("/run")).toEqual({ type: "tmpfs", target: "/run", options: ["nosuid", "nodev", "noexec"] });
    expect(parseTmpfsFlag("/run:rw,exec,size=65536k,mode=1777,uid=1000")).toEqual({ type: "tmpfs", target: "/run", options: ["nosuid", "nodev", "size=65536k", "mode=1777", "uid=1000"] });
    expect(parseTmpfsFlag("/t:ro,suid").options).toEqual(["nodev", "noexec", "ro"]);
    expect(() => parseTmpfsFlag("/t:dev")).toThrow("box mounts every tmpfs nodev");
    expect(() => parseTmpfsFlag("/t:size=1x")).toThrow('"1x" is not a valid size');
    expect(() => parseTmpfsFlag("/t:weird")).toThrow('unknown option "weird"');
    expect(() => parseTmpfsFlag("/t:foo=1")).toThrow('unknown option "foo"');
    expect(() => parseTmpfsFlag("t")).toThrow("must be an absolute path");
  });

  test("duplicate targets, missing --mount bind sources, sizes", () => {
    expect(() => checkDataOptions(["/a:/x"], [], ["/x"], false, undefined)).toThrow("duplicate mount point: /x");
    expect(() => checkDataOptions([], ["type=bind,source=/no/such/dir,target=/x"], [], false, undefined)).toThrow("bind source path does not exist: /no/such/dir");
    expect(checkDataOptions(["/no/such/dir:/x"], [], [], true, "1g")).toMatchObject({ readOnly: true, shmSize: 1 << 30, mounts: [{ type: "bind", create: true }] });
    expect(() => checkDataOptions([], [], [], false, "-1")).toThrow('invalid --shm-size "-1"');
  });

  test("a request with mounts is stored and read back; a damaged one is refused", () => {
    const mounts = checkDataOptions(["/h:/c:ro", "vv:/d", "/anon"], [], ["/t:size=1m"], true, "8m");
    const req = { image: { kind: "image", word: "alpine" }, pull: "missing", command: [], env: [], interactive: false, tty: false, detach: false, autoRemove: true, network: "none", publish: [], security: { capabilities: [], noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false }, limits: { pids: 10 }, cgroupParent: "box", ...mounts };
    expect(checkRequest(JSON.parse(JSON.stringify(req)), "")).toMatchObject({ mounts: mounts.mounts, readOnly: true, shmSize: 8 << 20 });
    expect(() => checkRequest({ ...req, mounts: [{ type: "bind", source: "rel", target: "/c", readonly: false, recursive: true, create: true, mode: "" }] }, "")).toThrow("not an absolute path");
    expect(() => checkRequest({ ...req, mounts: [{ type: "tmpfs", target: "/t", options: ["size=1,exec"] }] }, "")).toThrow("not a tmpfs option");
  });
});

function input(extra: Partial<SpecInput>): SpecInput {
  return {
    process: { args: ["sh"], env: [], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/root", hostname: "h", tty: false, stdin: false },
    security: { capabilities: [], noNewPrivileges: true, seccomp: false, systemPaths: true, privileged: false },
    network: "none",
    rootfs: { kind: "bind", path: "/r" },
    etcFiles: { hostname: "/e/hostname", hosts: "/e/hosts", resolvConf: "/e/resolv.conf" },
    cleanup: [],
    ...extra,
  };
}

describe("the spec and the plan", () => {
  const user: Mount[] = [
    { destination: "/deep/er/src", type: "bind", source: "/h", options: ["rbind"], mountpoint: "dir", parents: true },
    { destination: "/deep/er/src", type: "remount", source: "", options: ["bind", "nodev", "ro", "nosuid"], mountpoint: "dir" },
    { destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=1024"], mountpoint: "dir", parents: true },
  ];

  test("a user's mount replaces box's at the same place; --read-only remounts the root last; --shm-size", () => {
    const spec = buildSpec(input({ userMounts: user, readOnlyRoot: true }));
    expect(spec.mounts.filter((m) => m.destination === "/dev/shm")).toEqual([user[2]!]);
    expect(spec.mounts.at(-1)).toEqual({ destination: "/", type: "remount", source: "", options: ["bind", "ro", "nodev"], mountpoint: "dir" });
    const shm = buildSpec(input({ shmSize: 2 << 20 })).mounts.find((m) => m.destination === "/dev/shm")!;
    expect(shm.options).toContain("size=2048k");
  });

  test("parents made one by one inside the root, then the bind, then its remount with the source's restrictions", () => {
    const records = planRecords(buildSpec(input({ userMounts: user, readOnlyRoot: true })));
    const at = records.findIndex((r) => r[0] === "mkdir" && r[1] === "/deep");
    expect(records.slice(at, at + 5)).toEqual([
      ["mkdir", "/deep", "755"],
      ["mkdir", "/deep/er", "755"],
      ["mkdir", "/deep/er/src", "755"],
      ["mount", "/h", "/deep/er/src", "", String(0x1000 | 0x4000), ""],
      ["mount", "", "/deep/er/src", "", String(0x1000 | 0x4 | 0x1 | 0x2 | 0x20), ""],
    ]);
    const last = records.filter((r) => r[0] === "mount").at(-1);
    expect(last).toEqual(["mount", "", "/", "", String(0x1000 | 0x1 | 0x4 | 0x20), ""]);
  });

  test("a bind keeps the restrictions of the mount its source is on", () => {
    const info = [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "23 22 0:5 / /mnt/ro ro,nosuid,nodev,noexec,relatime - ext4 /dev/sdb rw",
      "24 22 0:6 / /mnt/ro\\040space rw,noexec - tmpfs tmpfs rw",
      "25 23 0:7 / /mnt/ro/inner rw,nosuid - tmpfs tmpfs rw",
    ].join("\n");
    expect(sourceRestrictions("/home/x", info)).toEqual([]);
    expect(sourceRestrictions("/mnt/ro/a/b", info)).toEqual(["ro", "nosuid", "nodev", "noexec"]);
    expect(sourceRestrictions("/mnt/ro space/f", info)).toEqual(["noexec"]);
    expect(sourceRestrictions("/mnt/ro/inner", info)).toEqual(["nosuid"]);
    expect(sourceRestrictions("/mnt/rox", info)).toEqual([]);
  });
});
