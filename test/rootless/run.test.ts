/**
 * box as a user that is not root, as a new user would use it: the commands of a container's life,
 * what its ids are inside and on the host, where the store is, and that nothing is left.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expectUserClean, makeUser, processesOf, rbox, removeUser, storeOf, type TestUser } from "./users";

let ranged: TestUser;
let alone: TestUser;

beforeAll(async () => {
  ranged = await makeUser({ subids: true });
  alone = await makeUser({ subids: false });
}, 60_000);
afterAll(async () => {
  await removeUser(ranged);
  await removeUser(alone);
});

describe("rootless: a user with subordinate ids", () => {
  test("box run: root inside is the user outside; the container's other ids are its subordinate ids; the store is ~/.local/share/box", async () => {
    const u = ranged;
    const r = await rbox(u, ["run", "sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map; echo $(hostname)"]);
    expect(r.stderr).toContain("without a cgroup"); // this host's controllers are cgroup v1: said once
    expect(r.code).toBe(0);
    const [id, ...rest] = r.stdout.trim().split("\n");
    expect(id).toBe("uid=0(root) gid=0(root)");
    const maps = rest.slice(0, 4).map((l) => l.trim().split(/\s+/).join(" "));
    expect(maps).toEqual([`0 ${u.uid} 1`, `1 ${u.sub!.uid} ${u.sub!.count}`, `0 ${u.gid} 1`, `1 ${u.sub!.gid} ${u.sub!.count}`]);
    // Said once: the second run is quiet.
    expect((await rbox(u, ["run", "true"])).stderr).toBe("");
    // The image's files: root's are the user's, group shadow (42) is the subordinate gid start+41.
    const layers = join(storeOf(u), "images/layers");
    const layer = join(layers, readdirSync(layers)[0]!, "diff");
    expect(statSync(join(layer, "bin")).uid).toBe(u.uid);
    expect(statSync(join(layer, "etc/shadow")).gid).toBe(u.sub!.gid + 41);
    await expectUserClean(u);
  }, 60_000);

  test("run -d, ps, exec (-u, -t), logs, inspect, stop, kill, rm: each as docker's, files of uid 1000 belong to start+999 on the host", async () => {
    const u = ranged;
    const d = await rbox(u, ["run", "-d", "--name", "web", "sh", "-c", "echo started; exec sleep 60"]);
    expect(d.code).toBe(0);
    const id = d.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await rbox(u, ["ps", "--format", "{{.Names}} {{.Status}}"])).stdout).toMatch(/^web Up /);
    const ex = await rbox(u, ["exec", "web", "sh", "-c", "id -u; adduser -D -u 1000 app && su app -c 'touch /tmp/mine' && stat -c '%u' /tmp/mine"]);
    expect(ex).toMatchObject({ code: 0, stdout: "0\n1000\n" });
    expect((await rbox(u, ["exec", "-u", "app", "web", "id"])).stdout).toBe("uid=1000(app) gid=1000(app)\n");
    // On the host, the upper layer holds the file as the subordinate id start+999.
    const upper = join(storeOf(u), "containers", id, "upper");
    expect(statSync(join(upper, "tmp/mine")).uid).toBe(u.sub!.uid + 999);
    // A terminal of the container's devpts, opened from inside (its init's root is closed to the user).
    const t = await rbox(u, ["exec", "-t", "web", "tty"]);
    expect(t).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\/dev\/pts\/\d+\r?\n$/) });
    expect((await rbox(u, ["logs", "web"])).stdout).toBe("started\n");
    const pid = Number((await rbox(u, ["inspect", "-f", "{{.State.Pid}}", "web"])).stdout.trim());
    expect(pid).toBeGreaterThan(1);
    // The container's init runs as the user; its command as the user too (container root).
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${u.uid}\\s`, "m"));
    expect(await rbox(u, ["stop", "-t", "1", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect((await rbox(u, ["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).stdout).toMatch(/^web Exited \(143\)/);
    expect((await rbox(u, ["rm", "web"])).code).toBe(0);
    expect(existsSync(join(storeOf(u), "containers", id))).toBe(false);
    // kill, and rm -f of a running one.
    expect((await rbox(u, ["run", "-d", "--name", "k", "sleep", "60"])).code).toBe(0);
    expect(await rbox(u, ["kill", "k"])).toMatchObject({ code: 0, stdout: "k\n" });
    expect((await rbox(u, ["run", "-d", "--name", "f", "sleep", "60"])).code).toBe(0);
    expect((await rbox(u, ["rm", "-f", "k", "f"])).code).toBe(0);
    await expectUserClean(u);
  }, 120_000);

  test("kill -9 of a supervisor: the container dies with it; the next command collects, its files of other ids too", async () => {
    const u = ranged;
    const id = (await rbox(u, ["run", "-d", "--name", "doomed", "sh", "-c", "adduser -D -u 1000 app && su app -c 'mkdir -p /tmp/deep/er && touch /tmp/deep/er/x' && sleep 60"])).stdout.trim();
    await Bun.sleep(500);
    const sup = Number(readFileSync(join(storeOf(u), "run", `${id}.pid`), "utf8").split(" ")[0]);
    process.kill(sup, "SIGKILL");
    await Bun.sleep(200);
    expect((await rbox(u, ["ps", "-a", "--format", "{{.Names}} {{.State}}"])).stdout).toBe("doomed dead\n");
    expect((await rbox(u, ["rm", "doomed"])).code).toBe(0);
    await expectUserClean(u);
  }, 60_000);

  test("bad input is one sentence, exit 125: the bridge, --userns, -u beyond the ids", async () => {
    const u = ranged;
    expect(await rbox(u, ["run", "--network", "bridge", "true"])).toMatchObject({ code: 125, stderr: "box: the bridge network needs root: a rootless container gets --network pasta or slirp4netns (user-mode networking), or none\n" });
    expect(await rbox(u, ["run", "--userns", "auto", "true"])).toMatchObject({ code: 125, stderr: "box: --userns is for root: a rootless container always has a user namespace, mapping your own ids\n" });
    expect(await rbox(u, ["run", "--pid", "host", "true"])).toMatchObject({ code: 125, stderr: "box: --pid host cannot go with a user namespace of the container's (rootless): it may not mount the host's /proc\n" });
    const far = await rbox(u, ["run", "-u", "70000", "true"]);
    expect(far).toMatchObject({ code: 125, stderr: `box: user 70000:0 is beyond the ids your containers have (${u.sub!.count + 1})\n` });
    expect(await rbox(u, ["network", "prune"])).toMatchObject({ code: 125, stderr: "box: box network prune needs root: the bridge is root's (a rootless container has pasta, slirp4netns or none)\n" });
    await expectUserClean(u);
  }, 60_000);
});

describe("rootless: a user without subordinate ids", () => {
  test("its own id alone, as root: said once; another user inside is refused in a sentence; runs work", async () => {
    const u = alone;
    const r = await rbox(u, ["run", "sh", "-c", "id; cat /proc/self/uid_map; cat /proc/self/setgroups"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`box: warning: ${u.name} has no subordinate ids (no line in /etc/subuid and /etc/subgid; useradd adds them, or usermod --add-subuids): your containers map your own id alone, as their root; no other user or group exists in them (-u with another id fails), and image files of other owners become root's`);
    // setgroups is denied: the user's own groups stay, as root's.
    expect(r.stdout.split("\n")[0]).toBe("uid=0(root) gid=0(root) groups=0(root)");
    expect(r.stdout.split("\n")[1]!.trim().split(/\s+/)).toEqual(["0", String(u.uid), "1"]);
    expect(r.stdout.split("\n")[2]).toBe("deny");
    // Files of the image's other owners became root's (the user's): /etc/shadow's group 42.
    const layers = join(storeOf(u), "images/layers");
    expect(statSync(join(layers, readdirSync(layers)[0]!, "diff/etc/shadow")).gid).toBe(u.gid);
    expect((await rbox(u, ["run", "true"])).stderr).not.toContain("subordinate"); // once
    expect(await rbox(u, ["run", "-u", "1000", "true"])).toMatchObject({ code: 125, stderr: "box: user 1000:0 does not exist in your containers: without subordinate ids they have root (your own id) alone\n" });
    const d = await rbox(u, ["run", "-d", "--name", "one", "sleep", "30"]);
    expect(d.code).toBe(0);
    expect((await rbox(u, ["exec", "one", "sh", "-c", "echo $((6*7))"])).stdout).toBe("42\n");
    expect((await rbox(u, ["rm", "-f", "one"])).code).toBe(0);
    expect(processesOf(u)).toEqual([]);
    await expectUserClean(u);
  }, 60_000);
});
