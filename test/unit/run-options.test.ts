import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkEnv, checkHostname } from "../../src/spec/options";
import { resolveUser } from "../../src/spec/user";
import { readRootFile } from "../../src/container/rootfiles";
import { containerResolvConf, hostsFile } from "../../src/net/setup";
import { checkName } from "../../src/store/ids";
import { layoutFor } from "../../src/store/layout";

describe("run options", () => {
  test("-e: KEY=VAL kept, KEY taken from box's environment or dropped, bad keys refused", () => {
    expect(checkEnv(["A=1", "B=", "C=x=y", "HOME", "MISSING"], () => ({ HOME: "/h" }))).toEqual(["A=1", "B=", "C=x=y", "HOME=/h"]);
    expect(() => checkEnv(["=1"], () => ({}))).toThrow('invalid environment variable "=1"');
    expect(() => checkEnv(["A B=1"], () => ({}))).toThrow("invalid environment variable");
  });

  test("hostnames and names", () => {
    expect(checkHostname("web-1.example")).toBe("web-1.example");
    for (const bad of ["-x", "a_b", "", "a".repeat(65), "x..y"]) expect(() => checkHostname(bad)).toThrow("invalid hostname");
    expect(checkName("db_1.x-y")).toBe("db_1.x-y");
    for (const bad of ["-x", "a/b", "", "a b"]) expect(() => checkName(bad)).toThrow("invalid container name");
  });

  test("the image's /etc/passwd is read inside its root: a symlink to a host file resolves inside, never out", () => {
    const root = mkdtempSync(join(tmpdir(), "box-etc-"));
    const secret = join(mkdtempSync(join(tmpdir(), "box-host-")), "passwd");
    try {
      mkdirSync(join(root, "etc"));
      writeFileSync(secret, "web:x:4242:4343:secret:/host-only:/bin/sh\n");
      symlinkSync(secret, join(root, "etc/passwd")); // absolute: means <root>/tmp/... inside
      expect(readRootFile(root, "/etc/passwd")).toBeUndefined();
      expect(() => resolveUser("web", (p) => readRootFile(root, p))).toThrow('unknown user "web"');
      rmSync(join(root, "etc/passwd"));
      symlinkSync("../../../../../../.." + secret, join(root, "etc/passwd")); // ".." stops at the root
      expect(readRootFile(root, "/etc/passwd")).toBeUndefined();
      mkdirSync(join(root, "etc/group")); // not a regular file: absent
      expect(readRootFile(root, "/etc/group")).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true });
    }
  });

  test("-u: numbers, names from the image's passwd and group, defaults", () => {
    const root = mkdtempSync(join(tmpdir(), "box-etc-"));
    const etc = (path: string) => readRootFile(root, path);
    try {
      mkdirSync(join(root, "etc"));
      writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:101:102:web:/srv/web:/sbin/nologin\n");
      writeFileSync(join(root, "etc/group"), "root:x:0:\nweb:x:102:\nstaff:x:50:\n");
      expect(resolveUser(undefined, etc)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/root" });
      expect(resolveUser("web", etc)).toEqual({ uid: 101, gid: 102, additionalGids: [], home: "/srv/web" });
      expect(resolveUser("web:staff", etc)).toMatchObject({ uid: 101, gid: 50 });
      expect(resolveUser("101", etc)).toMatchObject({ uid: 101, gid: 102, home: "/srv/web" });
      expect(resolveUser("1234:5", etc)).toEqual({ uid: 1234, gid: 5, additionalGids: [], home: "/" });
      expect(resolveUser("1234", etc)).toMatchObject({ gid: 0 });
      expect(() => resolveUser("nobody", etc)).toThrow('unknown user "nobody"');
      expect(() => resolveUser("0:wheel", etc)).toThrow('unknown group "wheel"');
      expect(() => resolveUser("4294967295", etc)).toThrow("invalid user");
    } finally {
      rmSync(root, { recursive: true });
    }
  });

  test("/etc files: hosts names the container; resolv.conf drops loopback nameservers", () => {
    expect(hostsFile("h1")).toContain("127.0.1.1\th1\n");
    expect(hostsFile("h1")).toStartWith("127.0.0.1\tlocalhost\n");
    expect(containerResolvConf("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\nnameserver ::1\n")).toBe("nameserver 10.0.0.2\nsearch lan\n");
  });

  test("--root moves all state; the default is /var/lib/box and /run/box", () => {
    expect(layoutFor(undefined, {})).toMatchObject({ lib: "/var/lib/box", run: "/run/box", images: "/var/lib/box/images" });
    expect(layoutFor("/tmp/r", {})).toMatchObject({ lib: "/tmp/r", run: "/tmp/r/run", containers: "/tmp/r/containers" });
    expect(layoutFor(undefined, { BOX_ROOT: "/x" })).toMatchObject({ lib: "/x", run: "/x/run" });
    expect(layoutFor("/a", { BOX_ROOT: "/x" }).lib).toBe("/a");
  });
});

describe("bridge network", () => {
  test("the subnet avoids every route of the host", async () => {
    const { chooseSubnet, hostRoutes } = await import("../../src/net/bridge");
    const table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nEth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\neth0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\n";
    // 10.0.0.0/8 on eth0 covers 10.88 and 10.89: the first candidate outside it is taken.
    expect(chooseSubnet(hostRoutes(table))).toBe("172.29.0.0/24");
    expect(chooseSubnet([])).toBe("10.88.0.0/24");
  });
});
