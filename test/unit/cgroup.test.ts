import { describe, expect, test } from "bun:test";
import { detectFrom, parseProcCgroup } from "../../src/cgroup/detect";
import { DEFAULT_PIDS_LIMIT, humanBytes, parseSize, resolveLimits, sharesToWeight, weightToShares } from "../../src/cgroup/limits";
import { createCgroup } from "../../src/cgroup/setup";

const HYBRID_MOUNTS = [
  "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");
const V1_COMBINED = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids";
const V2_MOUNTS = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate";

describe("cgroup layout detection", () => {
  test("hybrid: v1 controllers plus an empty cgroup2, and box's own cgroup per hierarchy", () => {
    const host = detectFrom(HYBRID_MOUNTS, "4:memory:/process_api/x\n8:pids:/\n0::/\n", () => "");
    expect(host.mode).toBe("hybrid");
    expect(host.controllers.sort()).toEqual(["cpu", "cpuacct", "memory", "pids"]);
    expect(host.v1.memory).toEqual({ mount: "/sys/fs/cgroup/memory", own: "/process_api/x" });
    expect(host.v1.pids).toEqual({ mount: "/sys/fs/cgroup/pids", own: "/" });
  });
  test("v1 with cpu and cpuacct in one hierarchy", () => {
    const host = detectFrom(V1_COMBINED, "", () => "");
    expect(host.mode).toBe("v1");
    expect(host.v1.cpu!.mount).toBe(host.v1.cpuacct!.mount);
  });
  test("v2: controllers from cgroup.controllers of box's own cgroup", () => {
    let asked = "";
    const host = detectFrom(V2_MOUNTS, "0::/user.slice/x\n", (dir) => ((asked = dir), "cpuset cpu io memory pids\n"));
    expect(host).toMatchObject({ mode: "v2", unified: { mount: "/sys/fs/cgroup", own: "/user.slice/x" }, controllers: ["cpuset", "cpu", "io", "memory", "pids"] });
    expect(asked).toBe("/sys/fs/cgroup/user.slice/x");
  });
  test("/proc/self/cgroup", () => {
    expect(parseProcCgroup("2:cpu,cpuacct:/a\n0::/b\n")).toEqual({ v2: "/b", v1: { cpu: "/a", cpuacct: "/a" } });
  });
  test("a controller the host lacks is refused by name before anything is made", () => {
    const host = detectFrom(V2_MOUNTS, "0::/\n", () => "pids cpu");
    expect(() => createCgroup(host, "id", resolveLimits({ memory: "64m" }, 2))).toThrow(
      "the memory cgroup controller is not available on this host (cgroup v2 offers: pids cpu): refusing to run without the limit you asked for",
    );
  });
});

describe("limits", () => {
  test("sizes as docker reads them", () => {
    expect(parseSize("64m", "--memory")).toBe(64 * 1024 ** 2);
    expect(parseSize("1g", "--memory")).toBe(1024 ** 3);
    expect(parseSize("1.5G", "--memory")).toBe(1.5 * 1024 ** 3);
    expect(parseSize("512k", "--memory")).toBe(512 * 1024);
    expect(parseSize("1048576", "--memory")).toBe(1048576);
    for (const bad of ["abc", "-1m", "0", "12x", ""]) expect(() => parseSize(bad, "--memory")).toThrow("invalid --memory");
  });
  test("defaults and flags", () => {
    expect(resolveLimits({}, 2)).toEqual({ pids: DEFAULT_PIDS_LIMIT });
    expect(resolveLimits({ pidsLimit: "-1" }, 2).pids).toBe(0);
    expect(resolveLimits({ memory: "64m", memorySwap: "-1", cpus: "1.5", cpuShares: "512" }, 2)).toEqual({
      pids: DEFAULT_PIDS_LIMIT, memory: 64 * 1024 ** 2, memorySwap: -1, cpus: 1.5, cpuShares: 512,
    });
    expect(() => resolveLimits({ cpus: "3" }, 2)).toThrow('invalid --cpus "3": give a number of CPUs from 0.01 to 2');
  });
  test("shares and weights convert both ways as runc does", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(1024)).toBe(39);
    expect(weightToShares(1)).toBe(2);
    expect(weightToShares(10000)).toBe(262144);
    expect(humanBytes(32 * 1024 ** 2)).toBe("32 MiB");
    expect(humanBytes(1536 * 1024 ** 2)).toBe("1.5 GiB");
  });
});
