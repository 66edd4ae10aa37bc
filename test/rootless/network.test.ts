/**
 * A rootless container's network, in network namespaces the test makes (never the machine's own):
 * "host" is namespace A, where box runs as the user; "other" is namespace B, joined to A by a veth,
 * standing in for another machine, serving a page. pasta and slirp4netns (installed by .ci/run from
 * Debian) carry the container's traffic out and publish its ports; without a /dev/net/tun the user
 * may open, a container gets loopback only (said once) and -p is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, removeRoot, run, tempDir } from "../e2e/harness";
import { asUser, expectUserClean, makeUser, processesOf, rbox, removeUser, SYS_PATH, type TestUser } from "./users";

let u: TestUser;
const tag = `rl${process.pid}`;
const A = `${tag}a`, B = `${tag}b`;
const www = tempDir("box-rootless-www-");
let server: ReturnType<typeof Bun.spawn> | undefined;
let loopServer: ReturnType<typeof Bun.spawn> | undefined;
const env = { PATH: SYS_PATH };

async function sh(cmd: string): Promise<void> {
  const r = await run(["sh", "-c", cmd], { env });
  if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

beforeAll(async () => {
  u = await makeUser({ subids: true });
  await sh(`ip netns add ${A} && ip netns add ${B} && ip -n ${A} link add v0 type veth peer name v1 netns ${B}`);
  await sh(`ip -n ${A} link set lo up && ip -n ${A} addr add 10.77.0.1/24 dev v0 && ip -n ${A} link set v0 up && ip -n ${A} route add default via 10.77.0.2`);
  await sh(`ip -n ${B} link set lo up && ip -n ${B} addr add 10.77.0.2/24 dev v1 && ip -n ${B} link set v1 up`);
  mkdirSync(join(www, "pub"));
  writeFileSync(join(www, "pub/index.html"), "from the other host\n");
  server = Bun.spawn(["ip", "netns", "exec", B, "busybox", "httpd", "-f", "-p", "8000", "-h", join(www, "pub")], { env, stdout: "ignore", stderr: "ignore" });
  // A service bound to the host's loopback only: no container may reach it (CVE-2020-8558).
  loopServer = Bun.spawn(["ip", "netns", "exec", A, "busybox", "httpd", "-f", "-p", "127.0.0.1:9999", "-h", join(www, "pub")], { env, stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(300);
}, 60_000);
afterAll(async () => {
  server?.kill("SIGKILL");
  loopServer?.kill("SIGKILL");
  await removeUser(u);
  await run(["ip", "netns", "del", A], { env });
  await run(["ip", "netns", "del", B], { env });
  removeRoot(www);
});

/** A line sent to host:port from namespace A, the answer read back. */
async function fromHost(port: number, ns = A, address = "127.0.0.1"): Promise<string> {
  const r = await run(["ip", "netns", "exec", ns, "sh", "-c", `echo | busybox nc -w 3 ${address} ${port}`], { env });
  return r.stdout;
}

describe("rootless networks", () => {
  for (const tool of ["pasta", "slirp4netns"] as const) {
    test(`--network ${tool}: out to another host; -p published on the host's side; the host's loopback out of reach; nothing left`, async () => {
      const net = { netns: A, env: { BOX_NETWORK: tool } };
      const out = await rbox(u, ["run", "sh", "-c", "wget -q -O - -T 5 http://10.77.0.2:8000/; wget -q -O - -T 2 http://10.0.2.2:9999/ || echo no-host-loopback"], net);
      expect(out).toMatchObject({ code: 0, stdout: "from the other host\nno-host-loopback\n" });
      const port = tool === "pasta" ? 8081 : 8082;
      const d = await rbox(u, ["run", "-d", "--name", "srv", "-p", `${port}:80`, "sh", "-c", "while true; do echo served | nc -l -p 80; done"], net);
      expect(d.code).toBe(0);
      await Bun.sleep(500);
      expect(await fromHost(port)).toBe("served\n");
      expect(await fromHost(port, B, "10.77.0.1")).toBe("served\n");
      expect((await rbox(u, ["rm", "-f", "srv"], net)).code).toBe(0);
      expect(processesOf(u)).toEqual([]);
      await expectUserClean(u);
    }, 60_000);
  }

  test("chosen by itself: pasta when installed and /dev/net/tun is open to the user; else loopback only, said once, and -p refused", async () => {
    const auto = await asUser(u, [BOX, "run", "sh", "-c", "ls /sys/class/net | tr '\\n' ' '"], { netns: A });
    expect(auto).toMatchObject({ code: 0, stdout: "lo v0 " }); // pasta copies the host's interface
    // The machine's own /dev/net/tun is root's alone (mode 0600): loopback only.
    const none = await asUser(u, [BOX, "run", "sh", "-c", "ls /sys/class/net"], {});
    expect(none).toMatchObject({ code: 0, stdout: "lo\n" });
    expect(none.stderr).toContain("box: warning: rootless containers get loopback only: /dev/net/tun is not open to users here (chmod 0666 /dev/net/tun allows it)");
    expect((await asUser(u, [BOX, "run", "true"], {})).stderr).toBe(""); // once
    expect(await asUser(u, [BOX, "run", "-p", "8080:80", "true"], {})).toMatchObject({ code: 125, stderr: "box: -p needs outbound networking, and /dev/net/tun is not open to users here (chmod 0666 /dev/net/tun allows it)\n" });
    expect(await asUser(u, [BOX, "run", "--network", "pasta", "true"], {})).toMatchObject({ code: 125, stderr: "box: --network pasta needs /dev/net/tun, which you cannot open here: an admin can allow it (chmod 0666 /dev/net/tun, the usual mode)\n" });
    await expectUserClean(u);
  }, 60_000);
});
