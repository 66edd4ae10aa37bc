import { describe, expect, test } from "bun:test";
import { buildSpec, containerEnv, DEFAULT_PATH } from "../../src/spec/build";
import { encodePlan, mountFlags, planRecords } from "../../src/spec/plan";
import type { SpecInput } from "../../src/spec/build";

function input(over: Partial<SpecInput["process"]> = {}, rootfs: SpecInput["rootfs"] = { kind: "overlay", lowers: ["/L"], upper: "/C/upper", work: "/C/work", merged: "/C/rootfs" }): SpecInput {
  return {
    process: { args: ["sh"], env: [], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/root", hostname: "h", tty: false, stdin: false, ...over },
    security: { capabilities: ["CHOWN", "KILL"], noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false },
    network: "none",
    rootfs,
    etcFiles: { hostname: "/C/hostname", hosts: "/C/hosts", resolvConf: "/C/resolv.conf" },
    cleanup: ["/C", "/R/id.json"],
  };
}

describe("spec", () => {
  test("environment: defaults, TERM only with a tty, -e last and overriding", () => {
    expect(containerEnv(input().process)).toEqual([`PATH=${DEFAULT_PATH}`, "HOSTNAME=h", "HOME=/root"]);
    expect(containerEnv(input({ tty: true, env: ["PATH=/bin", "X=a=b"] }).process)).toEqual(["PATH=/bin", "HOSTNAME=h", "HOME=/root", "TERM=xterm", "X=a=b"]);
  });

  test("all six namespaces, private propagation, the default devices", () => {
    const s = buildSpec(input());
    expect(s.linux.namespaces).toEqual(["mount", "uts", "ipc", "network", "pid", "cgroup"]);
    expect(s.linux.rootfsPropagation).toBe("private");
    expect(s.linux.devices.map((d) => d.path)).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    expect(s.root.path).toBe("/C/rootfs");
    expect(s.mounts.find((m) => m.destination === "/sys")!.options).toContain("ro");
  });

  test("mount options split into flags and data", () => {
    expect(mountFlags(["nosuid", "noexec", "nodev", "ro"])).toEqual({ flags: 0x2 | 0x8 | 0x4 | 0x1, data: "" });
    expect(mountFlags(["nosuid", "mode=755", "size=65536k", "strictatime"])).toEqual({ flags: 0x2 | 0x1000000, data: "mode=755,size=65536k" });
    expect(mountFlags(["rbind"])).toEqual({ flags: 0x1000 | 0x4000, data: "" });
  });
});

describe("the plan", () => {
  test("steps in order: namespaces, root, directories, mounts with devices after /dev, identity, process", () => {
    const r = planRecords(buildSpec(input({ cwd: "/srv/app" })));
    const keys = r.map((x) => x[0]);
    expect(r[0]).toEqual(["ns", "mount", "uts", "ipc", "net", "pid", "cgroup"]);
    expect(r[1]).toEqual(["rootfs", "/C/rootfs"]);
    // nodev: a device node made in the root cannot be opened.
    expect(r[2]).toEqual(["overlay", "4", "/C/rootfs", "/C/upper", "/C/work", "/L"]);
    // The working directory is made component by component, before any mount.
    expect(r.filter((x) => x[0] === "mkdir").map((x) => x[1])).toEqual(expect.arrayContaining(["/srv", "/srv/app"]));
    const devMount = r.findIndex((x) => x[0] === "mount" && x[2] === "/dev");
    const firstDevice = keys.indexOf("device");
    expect(firstDevice).toBe(devMount + 1);
    expect(r[firstDevice]).toEqual(["device", "/dev/null", "/dev/null", "1", "3"]);
    expect(r.find((x) => x[0] === "symlink" && x[2] === "/dev/ptmx")).toEqual(["symlink", "pts/ptmx", "/dev/ptmx"]);
    expect(r.find((x) => x[0] === "mount" && x[2] === "/etc/hosts")).toEqual(["mount", "/C/hosts", "/etc/hosts", "", "4096", ""]);
    expect(r[keys.indexOf("mount", 0) - 1]).toEqual(["mkdir", "/proc", "755"]);
    expect(r.find((x) => x[0] === "file")).toEqual(["file", "/etc/hostname", "644"]);
    expect(keys.slice(-16)).toEqual(["hostname", "loopback", "argv", "env", "path", "cwd", "user", "umask", "caps", "nonewprivs", "seccomp", "keyring", "tty", "stdin", "cleanup", "cleanup"]);
    expect(r.at(-10)).toEqual(["user", "0", "0"]);
    // CHOWN (0) and KILL (5) in bounding, effective, permitted; nothing inheritable or ambient.
    expect(r.at(-8)).toEqual(["caps", "0000000000000021", "0000000000000021", "0000000000000021", "0000000000000000", "0000000000000000"]);
    // The command is looked up in the PATH of its environment.
    expect(r.at(-12)).toEqual(["path", DEFAULT_PATH]);
    // Masks and read-only paths come after every mount, before the pivot.
    const lastMount = keys.lastIndexOf("mount");
    expect(keys.indexOf("mask")).toBeGreaterThan(lastMount);
    expect(r.filter((x) => x[0] === "readonly").map((x) => x[1])).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  test("a directory rootfs is bound onto itself", () => {
    const r = planRecords(buildSpec(input({}, { kind: "bind", path: "/srv/root" })));
    expect(r[2]).toEqual(["host_mount", "/srv/root", "/srv/root", "", String(0x1000 | 0x4000), ""]);
    expect(r[3]).toEqual(["host_mount", "", "/srv/root", "", String(0x1000 | 0x20 | 0x4), ""]);
  });

  test("encoding: length prefix, magic, version, key/count/fields, NUL-terminated", () => {
    const bytes = encodePlan([["argv", "ls", "-la"], ["loopback"]]);
    const body = Buffer.from(bytes).subarray(4);
    expect(Buffer.from(bytes).readUInt32LE(0)).toBe(body.length);
    expect(body.toString()).toBe("BOXPLAN\x002\x00argv\x002\x00ls\x00-la\x00loopback\x000\x00");
  });

  test("a NUL inside a field cannot be encoded", () => {
    expect(() => encodePlan([["argv", "a\0b"]])).toThrow("NUL");
  });
});
