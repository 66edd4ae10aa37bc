/**
 * The rules and state box writes for the bridge, as text, without root: what each firewall gets,
 * what network prune removes, and how records and state files read back (damaged ones included).
 * (Each in withRoot too, as every test here, though these touch nothing.)
 */
import { describe, expect, test } from "bun:test";
import { bridgeSubnet, parseBridgeConfig } from "../../src/net/bridge";
import { boxTables, bridgeNft, portsNft, sharedNft } from "../../src/net/nft";
import { checkPublish, parsePublish } from "../../src/net/ports";
import { checkRecord } from "../../src/net/setup";
import { withRoot } from "../e2e/harness";
import { ebtablesRemoval, ebtablesScript, iptablesRemoval, iptablesScript } from "../../src/net/xtables";

const config = { name: "box0", subnet: "10.88.0.0/24", gateway: "10.88.0.1", prefix: 24 };
const ID = "0123456789ab".padEnd(64, "f");

describe("nftables rules", () => {
  test("the shared table is made anew each time: loopback guard at raw priority, forward filter, masquerade", () => withRoot(async () => {
    const text = sharedNft(config);
    expect(text.split("\n").slice(0, 3)).toEqual(["add table ip box", "delete table ip box", "table ip box {"]);
    expect(text).toContain("type filter hook prerouting priority raw; policy accept;\n    iifname != \"lo\" ip daddr 127.0.0.0/8 drop");
    // Into box0 from elsewhere: replies and DNAT'ed only; the last word is a drop for box0 alone.
    expect(text).toMatch(/iifname "box0" accept\n\s+oifname "box0" ct state established,related accept\n\s+oifname "box0" ct status dnat accept\n\s+oifname "box0" drop/);
    expect(text).toContain("ip saddr 10.88.0.0/24 oifname != \"box0\" masquerade");
    expect(text).toContain("oifname \"box0\" ip saddr 10.88.0.0/24 ct status dnat masquerade");
  }));

  test("a container's bridge table: only its own IPv4 and ARP, one MAC (pinned, or the one given), no router advertisements", () => withRoot(async () => {
    const pinned = bridgeNft("box-0123456789ab", "vb0123456789ab", "10.88.0.2");
    expect(pinned).toContain("set mac { type ether_addr; size 1; flags dynamic; }");
    expect(pinned).toContain('iifname != "vb0123456789ab" accept');
    expect(pinned).toContain("icmpv6 type { nd-router-advert, nd-redirect } drop");
    expect(pinned).toContain("ether saddr != @mac add @mac { ether saddr }\n    ether saddr != @mac drop\n    ether type != { ip, arp } drop");
    expect(pinned).toContain("arp saddr ip != 10.88.0.2 drop");
    expect(pinned).toContain("ip saddr != 10.88.0.2 drop");
    const given = bridgeNft("box-0123456789ab", "vb0123456789ab", "10.88.0.2", "02:62:0a:58:00:02");
    expect(given).not.toContain("@mac");
    expect(given).toContain("ether saddr != 02:62:0a:58:00:02 drop");
  }));

  test("published ports: a port published on loopback gets no prerouting rule; 0.0.0.0 means every address", () => withRoot(async () => {
    const text = portsNft("box-x", "10.88.0.2", [parsePublish("127.0.0.1:8081:81/udp"), parsePublish("0.0.0.0:8090:80"), parsePublish("8080:80")]);
    const [pre, out] = text.split("chain output");
    expect(pre).not.toContain("127.0.0.1");
    expect(pre).toContain("fib daddr type local tcp dport 8090 dnat to 10.88.0.2:80");
    expect(out).toContain("fib daddr type local ip daddr 127.0.0.1 udp dport 8081 dnat to 10.88.0.2:81");
    expect(parsePublish("0.0.0.0:8090:80")).toEqual({ hostPort: 8090, containerPort: 80, proto: "tcp" });
  }));

  test("prune's view of nft list tables: box's own tables only", () => withRoot(async () => {
    const listing = "table ip filter\ntable ip box\ntable bridge box-0123456789ab\ntable ip box-0123456789ab\ntable inet boxer\ntable ip box-zz\n";
    expect(boxTables(listing)).toEqual([
      { family: "ip", name: "box" }, { family: "bridge", name: "box-0123456789ab" }, { family: "ip", name: "box-0123456789ab" },
    ]);
  }));
});

describe("iptables and ebtables rules", () => {
  const empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

  test("on a host without them: the shared chains, the jumps to them, a container's DNAT chain", () => withRoot(async () => {
    const script = iptablesScript(config, empty, { id: ID, ip: "10.88.0.2", publish: [parsePublish("18080:80"), parsePublish("127.0.0.1:8081:81/udp")] });
    expect(script).toContain("*raw\n:BOX-GUARD - [0:0]\n-A BOX-GUARD -d 127.0.0.0/8 ! -i lo -j DROP\n-I PREROUTING 1 -j BOX-GUARD\nCOMMIT");
    expect(script).toContain("-I FORWARD 1 -j BOX-FORWARD");
    expect(script).toContain("-A BOX-FORWARD -o box0 -j DROP");
    expect(script).toContain(":BOX-DNAT - [0:0]");
    expect(script).toContain("-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j BOX-DNAT");
    expect(script).toContain("-A BOX-0123456789ab -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.88.0.2:80");
    expect(script).toContain("-A BOX-0123456789ab -d 127.0.0.1/32 -p udp -m udp --dport 8081 -j DNAT --to-destination 10.88.0.2:81");
    expect(script).toContain("-A BOX-DNAT -j BOX-0123456789ab");
  }));

  test("on a host that has them: jumps are not added twice, BOX-DNAT (the containers' jumps) is not emptied, old rules go", () => withRoot(async () => {
    const saved = [
      "*raw", ":BOX-GUARD - [0:0]", "-A PREROUTING -j BOX-GUARD", "COMMIT",
      "*filter", ":BOX-FORWARD - [0:0]", "-A FORWARD -j BOX-FORWARD", "-A FORWARD -i box0 -j ACCEPT", "COMMIT",
      "*nat", ":BOX-DNAT - [0:0]", "-A POSTROUTING -j BOX-POSTROUTING", "-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j BOX-DNAT",
      "-A OUTPUT -m addrtype --dst-type LOCAL -j BOX-DNAT", "-A POSTROUTING -s 10.88.0.0/24 ! -o box0 -j MASQUERADE", "COMMIT",
    ].join("\n");
    const script = iptablesScript(config, saved);
    expect(script).not.toContain("-j BOX-GUARD\n");
    expect(script.match(/-j BOX-(GUARD|FORWARD|DNAT|POSTROUTING)$/gm)).toBeNull();
    expect(script).not.toContain(":BOX-DNAT");
    expect(script).toContain("-D FORWARD -i box0 -j ACCEPT");
    expect(script).toContain("-D POSTROUTING -s 10.88.0.0/24 ! -o box0 -j MASQUERADE");
  }));

  test("removal: every BOX- chain and jump to it, older rules, and nothing else", () => withRoot(async () => {
    const saved = [
      "*filter", ":INPUT ACCEPT [0:0]", ":BOX-FORWARD - [0:0]", "-A FORWARD -i va -j ACCEPT", "-A FORWARD -j BOX-FORWARD",
      "-A FORWARD -o box0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-A BOX-FORWARD -o box0 -j DROP", "COMMIT",
      "*nat", ":BOX-DNAT - [0:0]", ":BOX-0123456789ab - [0:0]", "-A OUTPUT -m addrtype --dst-type LOCAL -j BOX-DNAT", "-A BOX-DNAT -j BOX-0123456789ab", "COMMIT",
    ].join("\n");
    expect(iptablesRemoval(saved, config)).toBe([
      "*filter", "-D FORWARD -j BOX-FORWARD", "-D FORWARD -o box0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-F BOX-FORWARD", "-X BOX-FORWARD", "COMMIT",
      "*nat", "-D OUTPUT -m addrtype --dst-type LOCAL -j BOX-DNAT", "-F BOX-DNAT", "-F BOX-0123456789ab", "-X BOX-DNAT", "-X BOX-0123456789ab", "COMMIT", "",
    ].join("\n"));
    expect(iptablesRemoval(empty, config)).toBe("");
    const eb = ebtablesScript(ID, "vb0123456789ab", "10.88.0.2");
    expect(eb).toContain("-A BOX-0123456789ab -p IPv4 --ip-src ! 10.88.0.2 -j DROP");
    expect(eb).toContain("-A BOX-0123456789ab -j DROP");
    expect(ebtablesRemoval("*filter\n:INPUT ACCEPT\n:BOX-0123456789ab RETURN\n-A INPUT -i vb0123456789ab -j BOX-0123456789ab\n-A FORWARD -i va -j ACCEPT\n"))
      .toBe("*filter\n-D INPUT -i vb0123456789ab -j BOX-0123456789ab\n-F BOX-0123456789ab\n-X BOX-0123456789ab\n");
  }));
});

describe("state read back", () => {
  test("the bridge's config is checked field by field", () => withRoot(async () => {
    expect(parseBridgeConfig(JSON.stringify(config))).toEqual(config);
    for (const bad of ["", "{", "null", "[]", '{"name":"box0","subnet":"10.88.0.0/24","gateway":"10.88.0.9","prefix":24}', '{"name":"box0","subnet":"300.88.0.0/24","gateway":"300.88.0.1","prefix":24}']) {
      expect({ bad, got: parseBridgeConfig(bad) }).toEqual({ bad, got: undefined });
    }
    const route = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nbox0\t0000590A\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
    expect(bridgeSubnet(route)).toBe("10.89.0.0/24");
  }));

  test("a container's network record: current, older (ports only), damaged", () => withRoot(async () => {
    const record = { firewall: "iptables", veth: "vb0123456789ab", ip: "10.88.0.2", publish: [{ hostPort: 80, containerPort: 8080, proto: "tcp" }] };
    expect(checkRecord(JSON.parse(JSON.stringify(record)))).toEqual(record as never);
    expect(checkRecord({ publish: [{ hostPort: 80, containerPort: 8080, proto: "tcp" }], table: "box-0123456789ab", nft: "/usr/sbin/nft" })).toMatchObject({ firewall: "nft" });
    for (const bad of [undefined, null, "x", { firewall: "pf" }, { ...record, publish: [{ hostPort: 0 }] }]) expect(checkRecord(bad)).toBeUndefined();
    expect(checkPublish({ hostIp: "0.0.0.0", hostPort: 1, containerPort: 2, proto: "udp" })).toEqual({ hostPort: 1, containerPort: 2, proto: "udp" });
  }));
});
