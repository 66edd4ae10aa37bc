/**
 * The bridge network, never on the machine's own network: every box command here runs inside a
 * network namespace the test creates (see netns.ts), and the namespace is deleted afterwards. The
 * firewall-dependent tests run on nftables, on the iptables fallback, and with neither.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withRoot } from "../e2e/harness";
import { boxIn, fetchIn, inNetns, inNs, linksIn, REPLY, sysctlIn, withOtherHost, type Variant } from "./netns";

/** The entries of a state directory, without its lock (.lock) and scratch files. */
function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((e) => !e.startsWith(".") && !e.includes(".tmp-")) : [];
}

/** box's objects in the namespace's firewalls: nft tables named box*, iptables/ebtables BOX-* lines. */
async function boxRules(ns: string): Promise<string[]> {
  const nft = (await inNs(ns, ["nft", "list", "tables"])).stdout.split("\n").map((l) => l.trim()).filter((l) => / box/.test(l));
  const ipt = (await inNs(ns, ["iptables-save"])).stdout.split("\n").filter((l) => /BOX-/.test(l));
  const ebt = (await inNs(ns, ["ebtables-save"])).stdout.split("\n").filter((l) => /BOX-/.test(l));
  return [...nft, ...ipt, ...ebt];
}

/**
 * A namespace's firewalls for comparison: the nftables tables other than the ones iptables and
 * ebtables manage (those are compared through iptables-save and ebtables-save, by their rules and
 * chains of their own: an empty built-in table that appeared counts as nothing).
 */
async function firewallState(ns: string): Promise<{ nft: string[]; iptables: string[]; ebtables: string[] }> {
  const clean = (text: string) => text.split("\n").filter((l) => l.startsWith("-A ") || (l.startsWith(":") && !/^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /.test(l)));
  const tables = (await inNs(ns, ["nft", "list", "tables"])).stdout.split("\n").map((l) => l.trim()).filter((l) => l && !/^table (ip|bridge) (filter|nat|raw)$/.test(l));
  const nft = await Promise.all(tables.map(async (t) => (await inNs(ns, ["nft", "list", ...t.split(" ")])).stdout));
  return {
    nft,
    iptables: clean((await inNs(ns, ["iptables-save"])).stdout),
    ebtables: clean((await inNs(ns, ["ebtables-save"])).stdout),
  };
}

describe("box run --network bridge", () => {
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
        // The veth pairs went with the containers, the leases and their rules too; the bridge stays.
        expect(await linksIn(ns)).toEqual(["box0", "lo"]);
        expect(entries(join(root, "network/leases"))).toEqual([]);
        expect(await boxRules(ns)).toEqual(["table ip box"]);
      }, root),
    ));

  test("20 containers started at once get 20 distinct addresses", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const runs = await Promise.all(Array.from({ length: 20 }, () => boxIn(ns, root, ["run", "-d", "--network", "bridge", "sleep", "30"])));
        expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
        expect(new Set(entries(join(root, "network/leases"))).size).toBe(20);
        const addrs = await Promise.all(runs.map((r) => boxIn(ns, root, ["exec", r.stdout.trim(), "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"])));
        expect(new Set(addrs.map((a) => a.stdout.trim())).size).toBe(20);
        expect((await boxIn(ns, root, ["rm", "-f", ...runs.map((r) => r.stdout.trim())])).code).toBe(0);
        expect(await linksIn(ns)).toEqual(["box0", "lo"]);
        expect(entries(join(root, "network/leases"))).toEqual([]);
        expect(await boxRules(ns)).toEqual(["table ip box"]);
      }, root),
    ), 60_000);

  test("-p is refused without the bridge, and when malformed", () =>
    withRoot((root) => inNetns(async (ns) => {
      for (const [args, message] of [
        [["-p", "8080:80"], "box: -p needs --network bridge: only a bridged container has ports to publish"],
        [["--network", "bridge", "-p", "80"], 'box: invalid -p "80": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
        [["--network", "bridge", "-p", "70000:80"], 'box: invalid -p "70000:80": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
        [["--network", "bridge", "-p", "1.2.3:80:80/sctp"], 'box: invalid -p "1.2.3:80:80/sctp": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]'],
      ] as const) {
        const r = await boxIn(ns, root, ["run", ...args, "true"]);
        expect({ args, code: r.code, err: r.stderr }).toEqual({ args, code: 125, err: message + "\n" });
      }
    }, root)));

  test("damaged state is named or taken back, never a crash: the bridge's config, a lease, a port claim", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        expect((await boxIn(ns, root, ["run", "--rm", "--network", "bridge", "true"])).code).toBe(0);
        const config = readFileSync(join(root, "network/box0.json"), "utf8");
        writeFileSync(join(root, "network/box0.json"), "{ not json");
        const subnet = JSON.parse(config).subnet.replace(/0\/24$/, "");
        writeFileSync(join(root, "network/leases", `${subnet}2`), "");
        writeFileSync(join(root, "network/leases", `${subnet}3`), "garbage \u0001\n");
        mkdirSync(join(root, "network/ports"), { recursive: true });
        writeFileSync(join(root, "network/ports/tcp-18095"), "not an id");
        const r = await boxIn(ns, root, ["run", "--rm", "--network", "bridge", "-p", "18095:80", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"]);
        expect(r.stderr).toBe(`box: warning: the bridge's config ${join(root, "network/box0.json")} is damaged: replaced by ${JSON.parse(config).subnet}\n`);
        expect(r).toMatchObject({ code: 0, stdout: `${subnet}2/24\n` });
        expect(JSON.parse(readFileSync(join(root, "network/box0.json"), "utf8"))).toEqual(JSON.parse(config));
        expect(entries(join(root, "network/ports"))).toEqual([]);
        expect(entries(join(root, "network/leases"))).toEqual([`${subnet}3`]);
        expect((await boxIn(ns, root, ["network", "prune"])).code).toBe(0);
        expect(entries(join(root, "network/leases"))).toEqual([]);
      }, root),
    ));
});

for (const variant of ["nft", "iptables", "none"] as const satisfies readonly Variant[]) {
  describe(`bridge with ${variant === "none" ? "neither nft nor iptables" : variant}`, () => {
    const box = (ns: string, root: string, args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) => boxIn(ns, root, args, { ...opts, variant });

    test("outbound traffic is masqueraded (a host with no route back is reached); forwarding is on, and network prune restores it and removes exactly what box added", () =>
      withRoot((root) =>
        inNetns(async (ns) => {
          await withOtherHost(ns, async () => {
            // Rules of the host's own, which prune must leave as they are.
            expect((await inNs(ns, ["nft", "add", "table", "inet", "hosts-own"])).code).toBe(0);
            expect((await inNs(ns, ["iptables", "-A", "FORWARD", "-i", "va", "-j", "ACCEPT"])).code).toBe(0);
            expect((await inNs(ns, ["ebtables", "-A", "FORWARD", "-i", "va", "-j", "ACCEPT"])).code).toBe(0);
            const before = await firewallState(ns);
            // A new namespace starts with the host's ip_forward: made 0 here, as on a host that forwards nothing.
            await inNs(ns, ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward"]);
            const r = await box(ns, root, ["run", "--rm", "--network", "bridge", "ping", "-c1", "-W3", "192.0.2.2"]);
            if (variant === "none") {
              // Nothing turned on: the container is on the bridge, with no way out.
              expect(r.stderr).toBe("box: warning: neither nft nor iptables is installed: containers on the bridge get no outbound access (and the host forwards nothing for them)\n");
              expect(r.stdout).toContain("0 packets received");
              expect(await sysctlIn(ns, "/proc/sys/net/ipv4/ip_forward")).toBe("0");
              const p = await box(ns, root, ["run", "--rm", "--network", "bridge", "-p", "18085:80", "true"]);
              expect(p).toMatchObject({ code: 125, stderr: "box: -p needs nftables or iptables: install the nft command (or iptables)\n" });
            } else {
              expect({ code: r.code, out: r.stdout, err: r.stderr }).toMatchObject({ code: 0, err: "" });
              expect(r.stdout).toContain("1 packets received");
              expect(await sysctlIn(ns, "/proc/sys/net/ipv4/ip_forward")).toBe("1");
              expect((await boxRules(ns)).length).toBeGreaterThan(0);
            }
            const prune = await box(ns, root, ["network", "prune"]);
            expect({ code: prune.code, err: prune.stderr }).toEqual({ code: 0, err: "" });
            expect(await linksIn(ns)).toEqual(["lo", "va"]);
            expect(await boxRules(ns)).toEqual([]);
            expect(await firewallState(ns)).toEqual(before);
            expect(await sysctlIn(ns, "/proc/sys/net/ipv4/ip_forward")).toBe("0");
            expect(entries(join(root, "network"))).toEqual(["leases", "ports"].filter((d) => existsSync(join(root, "network", d))));
            // Forwarding that was on before box stays on.
            await inNs(ns, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
            expect((await box(ns, root, ["run", "--rm", "--network", "bridge", "true"])).code).toBe(0);
            expect((await box(ns, root, ["network", "prune"])).code).toBe(0);
            expect(await sysctlIn(ns, "/proc/sys/net/ipv4/ip_forward")).toBe("1");
          });
        }, root),
      ), 60_000);

    if (variant === "none") return;

    test("-p publishes a port (also as 0.0.0.0:PORT): reachable from 127.0.0.1 and from another host; a second claim fails cleanly; rm removes its rules", () =>
      withRoot((root) =>
        inNetns(async (ns) => {
          await withOtherHost(ns, async (other) => {
            const serve = "while [ ! -x /reply ]; do sleep 0.05; done; exec nc -lk -p 80 -e /reply";
            const web = await box(ns, root, ["run", "-d", "--network", "bridge", "--name", "web", "-p", "18080:80", "-p", "0.0.0.0:18090:80", "sh", "-c", serve]);
            expect(web.code).toBe(0);
            expect((await box(ns, root, ["exec", "-i", "web", "sh", "-c", "cat > /reply; chmod 755 /reply"], { stdin: REPLY })).code).toBe(0);
            await Bun.sleep(200);
            for (const port of [18080, 18090]) {
              expect(await fetchIn(ns, `http://127.0.0.1:${port}/`)).toBe("hello from box\n");
              expect(await fetchIn(other, `http://192.0.2.1:${port}/`)).toBe("hello from box\n");
            }
            expect(await sysctlIn(ns, "/proc/sys/net/ipv4/conf/box0/route_localnet")).toBe("1");
            // The same host port again: refused before that container starts, nothing left of it.
            const again = await box(ns, root, ["run", "--network", "bridge", "-p", "18080:80", "true"]);
            expect(again.code).toBe(125);
            expect(again.stderr).toMatch(/^box: port 18080\/tcp is already published by container [0-9a-f]{12}\n$/);
            // A port something on the host already listens on.
            const listener = Bun.spawn(["nsenter", `--net=/run/netns/${ns}`, "python3", "-c", "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 18081)); s.listen(); print('up', flush=True); time.sleep(30)"], { stdout: "pipe" });
            await listener.stdout.getReader().read();
            const busy = await box(ns, root, ["run", "--network", "bridge", "-p", "18081:80", "true"]);
            listener.kill();
            expect(busy).toMatchObject({ code: 125, stderr: "box: port 18081/tcp is already in use on the host\n" });
            const notHere = await box(ns, root, ["run", "--network", "bridge", "-p", "198.51.100.7:18082:80", "true"]);
            expect(notHere).toMatchObject({ code: 125, stderr: "box: cannot publish on 198.51.100.7: it is not an address of this host\n" });
            expect((await box(ns, root, ["rm", "-f", "web"])).code).toBe(0);
            expect(await boxRules(ns)).toEqual(await sharedRules(ns, variant));
            expect(await sysctlIn(ns, "/proc/sys/net/ipv4/conf/box0/route_localnet")).toBe("0");
            expect(entries(join(root, "network/ports"))).toEqual([]);
            expect(await linksIn(ns)).toEqual(["box0", "lo", "va"]);
          });
        }, root),
      ), 60_000);

    test("after kill -9 of a publishing container's supervisor, rm (or the next box run) gives back its address, port, rules and route_localnet; also when its record's network part is damaged", () =>
      withRoot((root) =>
        inNetns(async (ns) => {
          for (const collect of [["rm"], ["run", "--rm", "--network", "none", "true"], ["rm", "damaged"]]) {
            const id = (await box(ns, root, ["run", "-d", "--network", "bridge", ...(collect[0] === "run" ? ["--rm"] : []), "-p", "18090:80", "sleep", "30"])).stdout.trim();
            expect(id).toMatch(/^[0-9a-f]{64}$/);
            if (collect[1] === "damaged") {
              const file = join(root, "containers", id, "config.json");
              const record = JSON.parse(readFileSync(file, "utf8"));
              writeFileSync(file, JSON.stringify({ ...record, ports: { firewall: "pf", publish: "none" } }));
            }
            const [sup] = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ");
            process.kill(Number(sup), "SIGKILL");
            for (let i = 0; i < 50 && (await linksIn(ns)).length > 2; i++) await Bun.sleep(20);
            expect(await linksIn(ns)).toEqual(["box0", "lo"]);
            // The supervisor died before its clean-up: the claims and rules are still there.
            expect(entries(join(root, "network/ports"))).toEqual(["tcp-18090"]);
            expect((await boxRules(ns)).some((l) => l.includes(id.slice(0, 12)))).toBe(true);
            const r = await box(ns, root, collect[0] === "rm" ? ["rm", id] : collect);
            expect({ collect, code: r.code, err: r.stderr }).toEqual({ collect, code: 0, err: "" });
            expect(entries(join(root, "network/leases"))).toEqual([]);
            expect(entries(join(root, "network/ports"))).toEqual([]);
            expect(await boxRules(ns)).toEqual(await sharedRules(ns, variant));
            expect(await sysctlIn(ns, "/proc/sys/net/ipv4/conf/box0/route_localnet")).toBe("0");
          }
        }, root),
      ), 60_000);
  });
}

/** box's shared rules (what stays while the bridge does). */
async function sharedRules(ns: string, variant: Variant): Promise<string[]> {
  if (variant === "nft") return ["table ip box"];
  return (await boxRules(ns)).filter((l) => !/BOX-[0-9a-f]{12}/.test(l));
}
