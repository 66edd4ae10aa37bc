/**
 * A rootless container's data, as a user would move it: named volumes and binds of the user's own
 * directories (the container's root is the user on the host), --read-only with a --tmpfs, box cp in
 * and out (files written in become the container's root's, that is the user's; -a is refused),
 * box commit and export, a restart policy; the same confinement as root's (a first part of the
 * escape suite, test/security, seen from a rootless container); nothing left afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync, chownSync } from "node:fs";
import { join } from "node:path";
import { expectUserClean, makeUser, rbox, removeUser, type TestUser } from "./users";

let u: TestUser;

beforeAll(async () => {
  u = await makeUser({ subids: true });
}, 60_000);
afterAll(async () => {
  await removeUser(u);
});

describe("rootless data", () => {
  test("-v NAME and -v a directory of the user's; --read-only with --tmpfs: the container's root writes as the user", async () => {
    expect(await rbox(u, ["run", "-v", "data:/data", "sh", "-c", "echo hi > /data/f"])).toMatchObject({ code: 0 });
    expect(await rbox(u, ["run", "-v", "data:/data", "cat", "/data/f"])).toMatchObject({ code: 0, stdout: "hi\n" });
    const dir = join(u.home, "shared");
    mkdirSync(dir);
    writeFileSync(join(dir, "in"), "from the host\n");
    chownSync(dir, u.uid, u.gid);
    const b = await rbox(u, ["run", "-v", `${dir}:/b`, "sh", "-c", "cat /b/in; echo back > /b/out"]);
    expect(b).toMatchObject({ code: 0, stdout: "from the host\n" });
    expect(statSync(join(dir, "out")).uid).toBe(u.uid);
    const ro = await rbox(u, ["run", "--read-only", "--tmpfs", "/t", "sh", "-c", "touch /t/a && echo tmpfs ok; touch /x"]);
    expect(ro).toMatchObject({ code: 1, stdout: "tmpfs ok\n" });
    expect(ro.stderr).toContain("Read-only file system");
    expect((await rbox(u, ["volume", "rm", "data"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);

  test("box cp in and out, commit, export; cp -a into the container is refused in a sentence", async () => {
    expect((await rbox(u, ["run", "-d", "--name", "c", "sleep", "60"])).code).toBe(0);
    const src = join(u.home, "note");
    writeFileSync(src, "copied\n");
    chownSync(src, u.uid, u.gid);
    expect(await rbox(u, ["cp", src, "c:/tmp/note"])).toMatchObject({ code: 0 });
    expect(await rbox(u, ["exec", "c", "stat", "-c", "%u:%g %n", "/tmp/note"])).toMatchObject({ code: 0, stdout: "0:0 /tmp/note\n" });
    expect(await rbox(u, ["cp", "-a", src, "c:/tmp/again"])).toMatchObject({
      code: 125,
      stderr: "box: box cp -a into a container with a user namespace of its own (rootless, --userns=auto) is not supported: leave out -a, and the files become its root's\n",
    });
    const out = join(u.home, "release");
    expect(await rbox(u, ["cp", "c:/etc/alpine-release", out])).toMatchObject({ code: 0 });
    expect(statSync(out).uid).toBe(u.uid);
    expect(await rbox(u, ["commit", "c", "mine:1"])).toMatchObject({ code: 0 });
    expect(await rbox(u, ["run", "mine:1", "cat", "/tmp/note"])).toMatchObject({ code: 0, stdout: "copied\n" });
    expect(await rbox(u, ["export", "-o", join(u.home, "c.tar"), "c"])).toMatchObject({ code: 0 });
    expect(readFileSync(join(u.home, "c.tar")).length).toBeGreaterThan(1 << 20);
    expect((await rbox(u, ["rm", "-f", "c"])).code).toBe(0);
    expect((await rbox(u, ["rmi", "mine:1"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);

  test("--restart on-failure:2 starts it again in a user namespace of its own each time", async () => {
    expect((await rbox(u, ["run", "-d", "--name", "r", "--restart", "on-failure:2", "sh", "-c", "exit 3"])).code).toBe(0);
    let status = "";
    for (let i = 0; i < 100 && !status.startsWith("2 exited"); i++) {
      await Bun.sleep(50);
      status = (await rbox(u, ["inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", "r"])).stdout.trim();
    }
    expect(status).toBe("2 exited 3");
    expect((await rbox(u, ["rm", "r"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);

  test("the same confinement as root's: docker's capabilities, no_new_privs, seccomp, masked and read-only paths, no new proc", async () => {
    const r = await rbox(u, ["run", "sh", "-c", "grep -E '^(CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; wc -c < /proc/interrupts; echo 1 > /proc/sys/kernel/domainname; echo sys=$?; mkdir /m; mount -t proc proc /m; echo proc=$?"]);
    expect(r.stdout).toBe("CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n0\nsys=1\nproc=1\n");
    await expectUserClean(u);
  }, 60_000);
});
