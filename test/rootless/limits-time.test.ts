/**
 * What a rootless container gets beyond its ids: limits only where a cgroup v2 subtree is delegated
 * (this machine's controllers are cgroup v1: refused in a sentence; test/vm tries a delegated one);
 * a time namespace (the clocks from its start with --time-ns from-start; box exec joins it);
 * fuse-overlayfs where the kernel's overlay will not do (forced here), its daemon gone with the
 * container.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { detect } from "../../src/cgroup/detect";
import { box, withRoot } from "../e2e/harness";
import { expectUserClean, makeUser, processesOf, rbox, removeUser, type TestUser } from "./users";

let u: TestUser;
beforeAll(async () => {
  u = await makeUser({ subids: true });
}, 60_000);
afterAll(() => removeUser(u));

const hostUptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

describe("rootless limits", () => {
  test.if(detect().mode !== "v2")("on a host whose controllers are cgroup v1: a limit is refused with why and how to delegate; a run without one goes ahead", async () => {
    for (const [flag, value] of [["-m", "32m"], ["--pids-limit", "50"], ["--cpus", "0.5"]]) {
      const r = await rbox(u, ["run", flag!, value!, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^box: --(memory|pids-limit|cpus) needs a cgroup, and this host's controllers are cgroup v1 hierarchies \((a hybrid layout|cgroup v1)\), which only root may use: on cgroup v2, run box in a delegated subtree \(systemd: systemd-run --user --scope -p Delegate=yes box \.\.\.\), or have an admin make one: /);
      expect(r.stderr.split("\n").length).toBe(2);
    }
    expect((await rbox(u, ["run", "--pids-limit", "-1", "true"])).code).toBe(0); // no limit needs no cgroup
    expect((await rbox(u, ["run", "true"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);
});

describe("time namespaces", () => {
  test("rootless: --time-ns from-start counts uptime from the container's start; box exec joins that namespace; private by default, host shares the host's", async () => {
    expect(hostUptime()).toBeGreaterThan(10);
    const own = await rbox(u, ["run", "--time-ns", "from-start", "cat", "/proc/uptime"]);
    expect(own.code).toBe(0);
    expect(Number(own.stdout.split(" ")[0])).toBeLessThan(5);
    const host = readlinkSync("/proc/self/ns/time");
    expect((await rbox(u, ["run", "readlink", "/proc/self/ns/time"])).stdout.trim()).not.toBe(host);
    expect((await rbox(u, ["run", "--time-ns", "host", "readlink", "/proc/self/ns/time"])).stdout.trim()).toBe(host);
    expect((await rbox(u, ["run", "-d", "--name", "t", "--time-ns", "from-start", "sh", "-c", "readlink /proc/self/ns/time; exec sleep 60"])).code).toBe(0);
    await Bun.sleep(1200);
    const inside = (await rbox(u, ["exec", "t", "sh", "-c", "readlink /proc/self/ns/time; cat /proc/uptime"])).stdout.split("\n");
    expect(inside[0]).toBe((await rbox(u, ["logs", "t"])).stdout.trim());
    expect(Number(inside[1]!.split(" ")[0])).toBeGreaterThan(1);
    expect(Number(inside[1]!.split(" ")[0])).toBeLessThan(10);
    expect((await rbox(u, ["rm", "-f", "t"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);

  test("as root, the same; a bad --time-ns is one sentence", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--time-ns", "from-start", "sh", "-c", "cat /proc/uptime; readlink /proc/1/ns/time /proc/self/ns/time"]);
      const [uptime, initNs, selfNs] = r.stdout.trim().split("\n");
      expect(Number(uptime!.split(" ")[0])).toBeLessThan(5);
      expect(initNs).toBe(selfNs!); // PID 1 entered it too
      expect(selfNs).not.toBe(readlinkSync("/proc/self/ns/time"));
      expect(await box(root, ["run", "--time-ns", "later", "true"])).toMatchObject({ code: 125, stderr: 'box: invalid --time-ns "later": use private, from-start or host\n' });
    }));
});

describe("fuse-overlayfs", () => {
  test("where the kernel's overlay will not do (BOX_ROOTLESS_OVERLAY forces it here): the root is fuse-overlayfs, its daemon outside the container, gone with it", async () => {
    const opts = { fuse: true, env: { BOX_ROOTLESS_OVERLAY: "fuse-overlayfs" } };
    const r = await rbox(u, ["run", "sh", "-c", "grep ' / ' /proc/self/mountinfo | grep -o 'fuse.fuse-overlayfs'; ps -o comm | grep -c fuse || true; touch /made && echo made"], opts);
    expect(r).toMatchObject({ code: 0, stdout: "fuse.fuse-overlayfs\n0\nmade\n" });
    expect((await rbox(u, ["run", "-d", "--name", "fz", "sleep", "60"], opts)).code).toBe(0);
    expect(processesOf(u).some((p) => p.includes("fuse-overlayfs"))).toBe(true);
    expect((await rbox(u, ["exec", "fz", "cat", "/etc/alpine-release"], opts)).stdout).toBe("3.20.3\n");
    expect((await rbox(u, ["rm", "-f", "fz"], opts)).code).toBe(0);
    await expectUserClean(u);
    // Without a /dev/fuse the user may open (this machine's is root's): one sentence.
    expect(await rbox(u, ["run", "true"], { env: opts.env })).toMatchObject({ code: 125, stderr: "box: fuse-overlayfs needs /dev/fuse, which you cannot open here: an admin can allow it (chmod 0666 /dev/fuse, the usual mode)\n" });
  }, 60_000);
});
