/**
 * Attacks on the bridge (issue 20), each made inside namespaces the test creates: from a container
 * with box's default capabilities (NET_RAW among them: it sends hand-built frames with the frames
 * probe), and from "a machine on the LAN" (a second namespace joined by a veth). Each outcome is
 * checked from the host's side, and each test has a control that shows the same frame does arrive
 * when it is allowed (or when box's rule for it is taken away), so a probe that sends nothing
 * cannot pass for a guard that works. Every test runs on nftables and on the iptables fallback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { removeRoot, tempDir, withRoot } from "../e2e/harness";
import { boxIn, buildFrames, fetchIn, inNetns, inNs, IP, REPLY, sysctlIn, udpListener, withOtherHost, type Variant } from "./netns";

let frames: Uint8Array;
const work = tempDir("box-guard-");
beforeAll(async () => void (frames = await buildFrames(work)), 180_000);
afterAll(() => removeRoot(work), 60_000);

const ROUTE_LOCALNET = "/proc/sys/net/ipv4/conf/box0/route_localnet";

/** One test's bridge: its namespace, store and firewall variant, and box commands within them. */
class Bench {
  constructor(readonly ns: string, readonly root: string, readonly variant: Variant) {}

  box(args: string[], stdin?: string | Uint8Array) {
    return boxIn(this.ns, this.root, args, { variant: this.variant, stdin });
  }

  /** A detached container on the bridge, with the frames probe at /frames. */
  async start(name: string, options: string[] = [], command = ["sleep", "300"]): Promise<string> {
    const r = await this.box(["run", "-d", "--network", "bridge", "--name", name, ...options, ...command]);
    expect({ name, code: r.code, err: r.stderr }).toEqual({ name, code: 0, err: "" });
    expect((await this.box(["exec", "-i", name, "sh", "-c", "cat > /frames && chmod 755 /frames"], frames)).code).toBe(0);
    return r.stdout.trim();
  }

  async exec(name: string, script: string) {
    return this.box(["exec", name, "sh", "-c", script]);
  }

  async ipOf(name: string): Promise<string> {
    return (await this.exec(name, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).stdout.trim();
  }

  async macOf(name: string): Promise<string> {
    return (await this.exec(name, "/frames mac eth0")).stdout.trim();
  }

  /** The bridge's gateway and subnet, as box chose them. */
  config(): { gateway: string; subnet: string } {
    return JSON.parse(readFileSync(join(this.root, "network/box0.json"), "utf8"));
  }

  async hostMac(dev: string, netns = this.ns): Promise<string> {
    const r = await IP(["-j", "-n", netns, "link", "show", dev]);
    return JSON.parse(r.stdout)[0].address;
  }

  /** Sends a frame from a container with the probe. */
  async send(name: string, args: string) {
    const r = await this.exec(name, `/frames ${args}`);
    expect({ args, code: r.code, err: r.stderr }).toEqual({ args, code: 0, err: "" });
  }

  /** Sends a frame from the other host's side of the LAN veth (the probe runs there as is). */
  async sendFrom(other: string, args: string[]) {
    const r = await inNs(other, [join(work, "frames"), ...args]);
    expect({ args, code: r.code, err: r.stderr }).toEqual({ args, code: 0, err: "" });
  }

  async logs(name: string): Promise<string> {
    return (await this.box(["logs", name])).stdout;
  }

  async rm(...names: string[]) {
    expect((await this.box(["rm", "-f", ...names])).code).toBe(0);
  }

  /** The firewall as the host sees it: nft tables, iptables and ebtables rules (box's, by name). */
  async firewall(): Promise<string[]> {
    const nft = (await inNs(this.ns, ["nft", "list", "tables"])).stdout.split("\n").filter((l) => / box/.test(l));
    const ipt = (await inNs(this.ns, ["iptables-save"])).stdout.split("\n").filter((l) => /BOX-/.test(l));
    const ebt = (await inNs(this.ns, ["ebtables-save"])).stdout.split("\n").filter((l) => /BOX-/.test(l));
    return [...nft.map((l) => l.trim()), ...ipt, ...ebt];
  }
}

/** Waits until check() holds (every 50 ms, up to ms); returns whether it did. */
async function until(check: () => boolean | Promise<boolean>, ms = 4000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(50)) if (await check()) return true;
  return check();
}

function bench(variant: Variant, body: (b: Bench, other: string) => Promise<void>) {
  return () => withRoot((root) => inNetns((ns) => withOtherHost(ns, (other) => body(new Bench(ns, root, variant), other)), root));
}

for (const variant of ["nft", "iptables"] as const) {
  describe(`bridge guards, ${variant}`, () => {
    test("the host's loopback is out of reach: from containers (with and without a published port around) and from the LAN; the host's own 127.0.0.1 still reaches a port published there", bench(variant, async (b, other) => {
      const listener = await udpListener(b.ns, [["127.0.0.1", 9999], ["0.0.0.0", 9998]]);
      try {
        // A port published on the host's loopback turns route_localnet on for box0.
        await b.start("pub", ["-p", "127.0.0.1:8081:81/udp"], ["nc", "-lu", "-p", "81"]);
        await b.start("att");
        expect(await sysctlIn(b.ns, ROUTE_LOCALNET)).toBe("1");
        const { gateway } = b.config();
        const att = await b.ipOf("att");
        const attack = async (tag: string) => {
          // Read each time: box0's MAC follows its ports' (the lowest) as containers come and go.
          const gwMac = await b.hostMac("box0");
          await b.send("att", `udp eth0 ${gwMac} - ${att} 127.0.0.1 9999 ${tag}`);
          await b.send("att", `udp eth0 ${gwMac} - ${att} ${gateway} 9998 control-${tag}`);
          expect(await until(() => listener.received().some((l) => l.includes(`control-${tag}`)))).toBe(true);
          await Bun.sleep(200);
        };
        await attack("while-published");

        // From the LAN: to the host's MAC, addressed to 127.0.0.1:8081, the port published there.
        await b.sendFrom(other, ["udp", "vb", await b.hostMac("va"), "-", "192.0.2.2", "127.0.0.1", "8081", "from-lan"]);
        await Bun.sleep(300);
        // The host's own 127.0.0.1:8081 does reach the container.
        expect((await inNs(b.ns, ["python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'from-host', ('127.0.0.1', 8081))"])).code).toBe(0);
        expect(await until(async () => (await b.logs("pub")).includes("from-host"))).toBe(true);
        expect(await b.logs("pub")).toBe("from-host");

        // Once no port is published, route_localnet is off again; the guard stays.
        await b.rm("pub");
        expect(await sysctlIn(b.ns, ROUTE_LOCALNET)).toBe("0");
        await attack("after-unpublished");

        // Control: with route_localnet on and box's guard taken away, the same frame reaches the
        // host's loopback-only listener. The next container that publishes a port puts it back.
        await inNs(b.ns, ["sh", "-c", `echo 1 > ${ROUTE_LOCALNET}`]);
        if (variant === "nft") expect((await inNs(b.ns, ["nft", "delete", "chain", "ip", "box", "guard"])).code).toBe(0);
        else expect((await inNs(b.ns, ["iptables", "-t", "raw", "-D", "PREROUTING", "-j", "BOX-GUARD"])).code).toBe(0);
        await attack("unguarded");
        expect(listener.received()).toContain(`127.0.0.1:9999 ${att} unguarded`);
        expect((await b.box(["run", "--rm", "--network", "bridge", "-p", "127.0.0.1:8082:82", "true"])).code).toBe(0);
        await attack("guarded-again");

        const got = await listener.stop();
        expect(got.filter((l) => l.startsWith("127.0.0.1:"))).toEqual([`127.0.0.1:9999 ${att} unguarded`]);
        await b.rm("att");
        expect(await b.firewall()).toEqual(await sharedOnly(b));
      } finally {
        await listener.stop();
      }
    }), 60_000);

    test("router advertisements from a container reach neither the host nor other containers", bench(variant, async (b, other) => {
      await b.start("att");
      await b.start("victim");
      expect(await sysctlIn(b.ns, "/proc/sys/net/ipv6/conf/box0/accept_ra")).toBe("0");
      await b.send("att", "ra eth0 - 2001:db8:1::");
      // Control: the same advertisement from the LAN side gives the host a default route via va.
      await b.sendFrom(other, ["ra", "vb", "-", "2001:db8:2::"]);
      const hostRoutes = async () => (await IP(["-n", b.ns, "-6", "route", "show", "default"])).stdout;
      expect(await until(async () => (await hostRoutes()).includes("dev va"))).toBe(true);
      await Bun.sleep(500);
      expect(await hostRoutes()).not.toContain("box0");
      expect((await IP(["-n", b.ns, "-6", "addr", "show", "dev", "box0", "scope", "global"])).stdout).toBe("");
      const victim = async () => (await b.exec("victim", "ip -6 route show default; ip -6 addr show scope global")).stdout;
      expect(await victim()).toBe("");
      // Control: the victim does take an advertisement that reaches it (one the host sends on box0).
      expect((await inNs(b.ns, [join(work, "frames"), "ra", "box0", "-", "2001:db8:3::"])).code).toBe(0);
      expect(await until(async () => (await victim()).includes("default via fe80"))).toBe(true);
      expect(await victim()).not.toContain("2001:db8:1:");
      await b.rm("att", "victim");
    }), 60_000);

    test("the LAN reaches published ports only; outbound, container to container by name, and hairpin still work", bench(variant, async (b, other) => {
      const serve = `cat > /reply <<'EOF'\n${REPLY}EOF\nchmod 755 /reply; nc -lk -p 80 -e /reply & nc -lk -p 82 -e /reply & exec nc -lu -p 83`;
      await b.start("srv", ["-p", "18082:80"], ["sh", "-c", serve]);
      await b.start("cli");
      const { gateway, subnet } = b.config();
      const srv = await b.ipOf("srv");
      expect((await IP(["-n", other, "route", "add", subnet, "via", "192.0.2.1"])).code).toBe(0);
      await Bun.sleep(200);
      expect(await fetchIn(other, "http://192.0.2.1:18082/")).toBe("hello from box\n");
      // Straight to the container's address: neither an unpublished port nor the published one's
      // own port answers; nor does a datagram to an unpublished UDP port arrive.
      expect(await fetchIn(other, `http://${srv}:82/`, 2)).toStartWith("failed:");
      expect(await fetchIn(other, `http://${srv}:80/`, 2)).toStartWith("failed:");
      await b.sendFrom(other, ["udp", "vb", await b.hostMac("va"), "-", "192.0.2.2", srv, "83", "from-lan"]);
      // Outbound: the container opens a connection to the LAN; the answers come back.
      const web = Bun.spawn(["nsenter", `--net=/run/netns/${other}`, "python3", "-m", "http.server", "8000", "--bind", "192.0.2.2", "--directory", work], { stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH! } });
      try {
        expect(await until(async () => (await b.exec("srv", "wget -qO- http://192.0.2.2:8000/frames | wc -c")).stdout.trim() === String(frames.length), 5000)).toBe(true);
      } finally {
        web.kill();
      }
      // Hairpin (through the host's address and through the gateway), and by name.
      for (const url of ["http://192.0.2.1:18082/", `http://${gateway}:18082/`, "http://srv:82/"]) {
        expect({ url, got: (await b.exec("cli", `wget -qO- -T 5 ${url}`)).stdout }).toEqual({ url, got: "hello from box\n" });
      }
      expect(await b.logs("srv")).toBe("");
      // Control: the same datagram sent by the host itself does arrive.
      expect((await inNs(b.ns, ["python3", "-c", `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'from-host', ('${srv}', 83))`])).code).toBe(0);
      expect(await until(async () => (await b.logs("srv")) === "from-host")).toBe(true);
      await b.rm("srv", "cli");
    }), 60_000);

    test("a container sends only as itself: its own address in IPv4 and ARP" + (variant === "nft" ? ", and, once it has sent, its own MAC" : ""), bench(variant, async (b) => {
      const listener = await udpListener(b.ns, [["0.0.0.0", 9997]]);
      try {
        const victimId = await b.start("victim");
        const attId = await b.start("att");
        const { gateway } = b.config();
        const gwMac = await b.hostMac("box0");
        const [victim, att, victimMac, attMac] = [await b.ipOf("victim"), await b.ipOf("att"), await b.macOf("victim"), await b.macOf("att")];
        // Both talk to the gateway first: the host and the victim know each other's MAC.
        expect((await b.exec("victim", `ping -c1 -W2 ${gateway} >/dev/null && echo ok`)).stdout).toBe("ok\n");
        expect((await b.exec("att", `ping -c1 -W2 ${gateway} >/dev/null && echo ok`)).stdout).toBe("ok\n");
        const hostNeigh = async () => (await IP(["-n", b.ns, "neigh", "show", victim, "dev", "box0"])).stdout;
        const victimArp = async () => (await b.exec("victim", `grep '^${gateway} ' /proc/net/arp`)).stdout;
        expect(await hostNeigh()).toContain(victimMac);
        expect(await victimArp()).toContain(gwMac);
        const fdb = async () => (await inNs(b.ns, ["bridge", "fdb", "show", "br", "box0"])).stdout.split("\n").find((l) => l.startsWith(victimMac + " "));

        const attacks = async (tag: string) => {
          // IPv4 as the victim, to a listener of the host's.
          await b.send("att", `udp eth0 ${gwMac} - ${victim} ${gateway} 9997 ${tag}`);
          // ARP: "the victim's address is at my MAC", to the host; "the gateway is at my MAC", to the victim.
          await b.send("att", `arp eth0 ${gwMac} - 2 ${attMac} ${victim} ${gwMac} ${gateway}`);
          await b.send("att", `arp eth0 ${victimMac} - 2 ${attMac} ${gateway} ${victimMac} ${victim}`);
          // Its own address with the victim's MAC, to take the victim's place in the bridge's table.
          if (variant === "nft") await b.send("att", `udp eth0 ${gwMac} ${victimMac} ${att} ${gateway} 9997 mac-${tag}`);
          // Control: as itself, it does reach the listener.
          await b.send("att", `udp eth0 ${gwMac} - ${att} ${gateway} 9997 self-${tag}`);
          expect(await until(() => listener.received().some((l) => l.includes(`self-${tag}`)))).toBe(true);
          await Bun.sleep(200);
        };
        await attacks("guarded");
        expect(listener.received()).toEqual([`0.0.0.0:9997 ${att} self-guarded`]);
        expect(await hostNeigh()).toContain(victimMac);
        expect(await victimArp()).toContain(gwMac);
        expect(await fdb()).toContain(`dev vb${victimId.slice(0, 12)}`);

        // Control: without the attacker's guard, the same frames do what they are meant to (after
        // the neighbour tables' lock time, 1 s, within which the kernel ignores a new address).
        await Bun.sleep(1100);
        if (variant === "nft") expect((await inNs(b.ns, ["nft", "delete", "table", "bridge", `box-${attId.slice(0, 12)}`])).code).toBe(0);
        else for (const hook of ["INPUT", "FORWARD"]) expect((await inNs(b.ns, ["ebtables", "-D", hook, "-i", `vb${attId.slice(0, 12)}`, "-j", `BOX-${attId.slice(0, 12)}`])).code).toBe(0);
        await attacks("unguarded");
        expect(listener.received()).toContain(`0.0.0.0:9997 ${victim} unguarded`);
        expect(await until(async () => (await hostNeigh()).includes(attMac))).toBe(true);
        expect(await until(async () => (await victimArp()).includes(attMac))).toBe(true);
        if (variant === "nft") expect(await fdb()).toContain(`dev vb${attId.slice(0, 12)}`);
      } finally {
        await listener.stop();
      }
      await b.rm("att", "victim");
      expect(await b.firewall()).toEqual(await sharedOnly(b));
    }), 60_000);
  });
}

/** What box leaves in the firewall once no container is on the bridge: the shared rules only. */
async function sharedOnly(b: Bench): Promise<string[]> {
  if (b.variant === "nft") return ["table ip box"];
  return (await inNs(b.ns, ["iptables-save"])).stdout.split("\n").filter((l) => /BOX-/.test(l) && !/BOX-[0-9a-f]{12}/.test(l));
}
