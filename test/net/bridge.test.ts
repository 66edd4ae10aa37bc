/**
 * The bridge network, never on the machine's own network: every box command here runs inside a
 * network namespace the test creates (ip netns add, entered with nsenter so the mounts, cgroups
 * included, stay the host's), and the namespace is deleted afterwards.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BOX, run, withRoot } from "../e2e/harness";

async function inNetns<T>(body: (netns: string) => Promise<T>): Promise<T> {
  const name = `boxtest${process.pid}${Math.floor(Math.random() * 1e6)}`;
  expect((await run(["ip", "netns", "add", name], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } })).code).toBe(0);
  try {
    return await body(name);
  } finally {
    await run(["ip", "netns", "del", name], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  }
}

function boxIn(netns: string, root: string, args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) {
  return run(["nsenter", `--net=/run/netns/${netns}`, BOX, "--root", root, ...args], { ...opts, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...opts.env } });
}

/** The interfaces of the namespace, from /proc/net/dev (which shows the reader's own namespace). */
async function linksIn(netns: string): Promise<string[]> {
  const r = await run(["nsenter", `--net=/run/netns/${netns}`, "cat", "/proc/net/dev"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  return r.stdout.split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter(Boolean).sort();
}

const IP = (args: string[]) => run(["ip", ...args], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });

/** A tiny HTTP server for busybox's nc (the minirootfs has no httpd): read the request, answer. */
const REPLY = `#!/bin/sh
while IFS= read -r line; do case "$line" in "$(printf '\\r')"|"") break ;; esac; done
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello from box\\n'
`;

async function fetchIn(netns: string, url: string): Promise<string> {
  const py = `import urllib.request; print(urllib.request.urlopen(${JSON.stringify(url)}, timeout=5).read().decode(), end="")`;
  const r = await run(["nsenter", `--net=/run/netns/${netns}`, "python3", "-c", py], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  return r.code === 0 ? r.stdout : `failed: ${r.stderr.trim().split("\n").pop()}`;
}

/**
 * "Another host": a second namespace joined to the test's by a veth pair on 192.0.2.0/24 (the test's
 * side is 192.0.2.1, the other host 192.0.2.2, with no route back to the bridge). Removed after.
 */
async function withOtherHost(ns: string, body: (other: string) => Promise<void>): Promise<void> {
  const other = `${ns}o`;
  expect((await IP(["netns", "add", other])).code).toBe(0);
  try {
    for (const args of [
      ["-n", ns, "link", "set", "lo", "up"],
      ["link", "add", "va", "netns", ns, "type", "veth", "peer", "name", "vb", "netns", other],
      ["-n", ns, "addr", "add", "192.0.2.1/24", "dev", "va"], ["-n", ns, "link", "set", "va", "up"],
      ["-n", other, "addr", "add", "192.0.2.2/24", "dev", "vb"], ["-n", other, "link", "set", "vb", "up"], ["-n", other, "link", "set", "lo", "up"],
    ]) expect({ args, code: (await IP(args)).code }).toEqual({ args, code: 0 });
    await body(other);
  } finally {
    await IP(["netns", "del", other]);
  }
}

describe("box run --network bridge", () => {
  test("outbound traffic is masqueraded: a container reaches another host that has no route back to the bridge", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        await withOtherHost(ns, async () => {
          const forwardBefore = (await run(["nsenter", `--net=/run/netns/${ns}`, "cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim();
          expect(forwardBefore).toBe("0");
          const r = await boxIn(ns, root, ["run", "--rm", "--network", "bridge", "ping", "-c1", "-W3", "192.0.2.2"]);
          expect(r.stdout).toContain("1 packets received");
          expect(r.code).toBe(0);
          // Forwarding was turned on because a bridge was used; the masquerade rule is box's own table.
          expect((await run(["nsenter", `--net=/run/netns/${ns}`, "cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim()).toBe("1");
          const rules = await run(["nsenter", `--net=/run/netns/${ns}`, "nft", "list", "table", "ip", "box"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
          expect(rules.stdout).toMatch(/ip saddr \S+\/24 oifname != "box0" masquerade/);
        });
      }),
    ));

  test("two containers reach each other by address and by name; eth0, a default route, /etc/hosts and resolv.conf", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const a = await boxIn(ns, root, ["run", "-d", "--network", "bridge", "--name", "alpha", "sleep", "30"]);
        expect(a.code).toBe(0);
        const r = await boxIn(ns, root, ["run", "--rm", "--network", "bridge", "--name", "beta", "sh", "-c",
          "ip -4 -o addr show eth0 | awk '{print $4}'; ip route | grep default; grep alpha /etc/hosts; ls /etc/resolv.conf; ping -c1 -W2 alpha >/dev/null && echo by-name; ping -c1 -W2 $(grep alpha /etc/hosts | cut -f1) >/dev/null && echo by-address"]);
        expect(r.code).toBe(0);
        const [addr, route, hostsLine, resolv, byName, byAddr] = r.stdout.trim().split("\n");
        expect(addr).toMatch(/^10\.\d+\.\d+\.\d+\/24$|^172\.29\.0\.\d+\/24$|^192\.168\.229\.\d+\/24$/);
        expect(route).toMatch(/^default via \S+\.1 dev eth0/);
        expect(hostsLine).toMatch(/^\S+\talpha$/);
        expect([resolv, byName, byAddr]).toEqual(["/etc/resolv.conf", "by-name", "by-address"]);
        // The earlier container learned the later one's name too.
        expect((await boxIn(ns, root, ["exec", "alpha", "cat", "/etc/hosts"])).stdout).toContain("\tbeta\n");
        expect(await linksIn(ns)).toEqual(["box0", "lo", `vb${a.stdout.trim().slice(0, 12)}`].sort());
        expect((await boxIn(ns, root, ["rm", "-f", "alpha"])).code).toBe(0);
        // The veth pairs went with the containers, the leases too; the bridge stays for reuse.
        expect(await linksIn(ns)).toEqual(["box0", "lo"]);
        expect(readdirSync(join(root, "network/leases"))).toEqual([]);
      }),
    ));

  test("20 containers started at once get 20 distinct addresses", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const runs = await Promise.all(Array.from({ length: 20 }, () => boxIn(ns, root, ["run", "-d", "--network", "bridge", "sleep", "30"])));
        expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
        const leases = readdirSync(join(root, "network/leases"));
        expect(new Set(leases).size).toBe(20);
        const addrs = await Promise.all(runs.map((r) => boxIn(ns, root, ["exec", r.stdout.trim(), "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"])));
        expect(new Set(addrs.map((a) => a.stdout.trim())).size).toBe(20);
        expect((await boxIn(ns, root, ["rm", "-f", ...runs.map((r) => r.stdout.trim())])).code).toBe(0);
        expect(await linksIn(ns)).toEqual(["box0", "lo"]);
        expect(existsSync(join(root, "network/leases")) ? readdirSync(join(root, "network/leases")) : []).toEqual([]);
      }),
    ), 60_000);

  test("-p publishes a port: reachable from 127.0.0.1 and from another host; a second claim fails cleanly; rm removes the rules", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        await withOtherHost(ns, async (other) => {
          const web = await boxIn(ns, root, ["run", "-d", "--network", "bridge", "--name", "web", "-p", "18080:80", "sh", "-c", "while [ ! -x /reply ]; do sleep 0.05; done; exec nc -lk -p 80 -e /reply"]);
          expect(web.code).toBe(0);
          expect((await boxIn(ns, root, ["exec", "-i", "web", "sh", "-c", "cat > /reply; chmod 755 /reply"], { stdin: REPLY })).code).toBe(0);
          await Bun.sleep(200);
          expect(await fetchIn(ns, "http://127.0.0.1:18080/")).toBe("hello from box\n");
          expect(await fetchIn(other, "http://192.0.2.1:18080/")).toBe("hello from box\n");
          // The same host port again: refused before that container starts, nothing left of it.
          const again = await boxIn(ns, root, ["run", "--network", "bridge", "-p", "18080:80", "true"]);
          expect(again.code).toBe(125);
          expect(again.stderr).toMatch(/^box: port 18080\/tcp is already published by container [0-9a-f]{12}\n$/);
          // A port something on the host already listens on.
          const listener = Bun.spawn(["nsenter", `--net=/run/netns/${ns}`, "python3", "-c", "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 18081)); s.listen(); print('up', flush=True); time.sleep(30)"], { stdout: "pipe" });
          await listener.stdout.getReader().read();
          const busy = await boxIn(ns, root, ["run", "--network", "bridge", "-p", "18081:80", "true"]);
          listener.kill();
          expect(busy).toMatchObject({ code: 125, stderr: "box: port 18081/tcp is already in use on the host\n" });
          expect((await boxIn(ns, root, ["rm", "-f", "web"])).code).toBe(0);
          const tables = await run(["nsenter", `--net=/run/netns/${ns}`, "nft", "list", "tables"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
          expect(tables.stdout.trim().split("\n")).toEqual(["table ip box"]);
          expect(readdirSync(join(root, "network/ports"))).toEqual([]);
          expect(await linksIn(ns)).toEqual(["box0", "lo", "va"]);
        });
      }),
    ));

  test("-p is refused without the bridge, and when malformed", () =>
    withRoot(async (root) => {
      for (const [args, message] of [
        [["-p", "8080:80"], "box: -p needs --network bridge: only a bridged container has ports to publish"],
        [["--network", "bridge", "-p", "80"], 'box: invalid -p "80": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
        [["--network", "bridge", "-p", "70000:80"], 'box: invalid -p "70000:80": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
        [["--network", "bridge", "-p", "1.2.3:80:80/sctp"], 'box: invalid -p "1.2.3:80:80/sctp": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
      ] as const) {
        const r = await run([BOX, "--root", root, "run", ...args, "true"]);
        expect({ args, code: r.code, err: r.stderr }).toEqual({ args, code: 125, err: message + "\n" });
      }
    }));

  test("bridge is the default (BOX_NETWORK unset); box network prune removes the bridge and its rules once unused", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const r = await boxIn(ns, root, ["run", "-d", "--name", "dflt", "sleep", "30"], { env: { BOX_NETWORK: "" } });
        expect(r.code).toBe(0);
        expect((await boxIn(ns, root, ["exec", "dflt", "cat", "/proc/net/dev"])).stdout).toContain("eth0:");
        const busy = await boxIn(ns, root, ["network", "prune"]);
        expect(busy).toMatchObject({ code: 125, stderr: "box: the bridge box0 is used by 1 container: remove them first\n" });
        expect((await boxIn(ns, root, ["rm", "-f", "dflt"])).code).toBe(0);
        expect((await boxIn(ns, root, ["network", "prune"])).code).toBe(0);
        expect(await linksIn(ns)).toEqual(["lo"]);
        const tables = await run(["nsenter", `--net=/run/netns/${ns}`, "nft", "list", "tables"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
        expect(tables.stdout.trim()).toBe("");
      }),
    ));

  test("after kill -9 of a bridged container's supervisor, the next box command gives back its address, port and rules", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const id = (await boxIn(ns, root, ["run", "-d", "--network", "bridge", "-p", "18090:80", "sleep", "30"])).stdout.trim();
        expect(id).toMatch(/^[0-9a-f]{64}$/);
        const [sup] = require("node:fs").readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ");
        process.kill(Number(sup), "SIGKILL");
        await Bun.sleep(300);
        expect((await boxIn(ns, root, ["run", "--rm", "--network", "none", "true"])).code).toBe(0); // collects
        expect(readdirSync(join(root, "network/leases"))).toEqual([]);
        expect(readdirSync(join(root, "network/ports"))).toEqual([]);
        const tables = await run(["nsenter", `--net=/run/netns/${ns}`, "nft", "list", "tables"], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
        expect(tables.stdout.trim()).toBe("table ip box");
        for (let i = 0; i < 50 && (await linksIn(ns)).length > 2; i++) await Bun.sleep(20);
        expect(await linksIn(ns)).toEqual(["box0", "lo"]);
        expect((await boxIn(ns, root, ["rm", id])).code).toBe(0);
      }),
    ));
});
