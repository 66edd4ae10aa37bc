/**
 * The nftables rules of the bridge, as text for `nft -f -`. Tables of box's own only:
 *
 *   ip box          shared: the loopback guard, the forward filter, outbound masquerade. Made
 *                   anew (atomically) with every container that joins the bridge, so it is back
 *                   after a flush of the ruleset and always the current version's.
 *   bridge box-ID   a container's: what may enter the bridge from its veth (itself only).
 *   ip box-ID       a container's published ports (DNAT), only with -p.
 *
 * Every container table is named after the first 12 hex digits of its id; removing a container's
 * rules is deleting its tables.
 */
import { BRIDGE, type BridgeConfig } from "./bridge";
import { isLoopback, type Publish } from "./ports";

export function sharedNft(config: BridgeConfig): string {
  const br = `"${BRIDGE}"`;
  return [
    // Made anew: add (a no-op when it exists), delete, define; all in one transaction.
    "add table ip box",
    "delete table ip box",
    "table ip box {",
    // CVE-2020-8558: with route_localnet on box0 (needed for the host's own 127.0.0.1 to reach a
    // published port) the kernel would route 127.0.0.0/8 from a container to the host's loopback
    // services, and a DNAT rule for a port published on 127.0.0.1 would take it from the LAN.
    // Nothing addressed to loopback that did not come from loopback gets past routing.
    "  chain guard {",
    "    type filter hook prerouting priority raw; policy accept;",
    '    iifname != "lo" ip daddr 127.0.0.0/8 drop',
    "  }",
    // Into the bridge from outside it: only published ports (DNAT'ed) and replies. Out of it and
    // within it (hairpin through a published port), anything.
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    `    iifname ${br} accept`,
    `    oifname ${br} ct state established,related accept`,
    `    oifname ${br} ct status dnat accept`,
    `    oifname ${br} drop`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${config.subnet} oifname != ${br} masquerade`,
    // The host's own 127.0.0.1 reaching a published port, and a container reaching a port
    // published by another (or itself) through the host's address: answered through the host.
    `    oifname ${br} ip saddr 127.0.0.0/8 masquerade`,
    `    oifname ${br} ip saddr ${config.subnet} ct status dnat masquerade`,
    "  }",
    "}",
  ].join("\n") + "\n";
}

export function containerTable(id: string): string {
  return `box-${id.slice(0, 12)}`;
}

/**
 * What may enter the bridge from a container's veth: IPv4 and ARP, from its own address, and
 * from one MAC address: the one given, or else the first one it sends from (a set of size one,
 * filled by that frame; the container's own command may send it, since nothing leaves eth0
 * before). Router
 * advertisements and redirects (CVE-2020-13401) never pass, nor does any other protocol. Checked
 * at the bridge's prerouting hook, before the bridge learns the frame's source address.
 */
export function bridgeNft(table: string, veth: string, ip: string, mac?: string): string {
  const own = mac ?? "@mac";
  return [
    `table bridge ${table} {`,
    ...(mac ? [] : ["  set mac { type ether_addr; size 1; flags dynamic; }"]),
    "  chain prerouting {",
    "    type filter hook prerouting priority filter; policy accept;",
    `    iifname != "${veth}" accept`,
    "    ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop",
    ...(mac ? [] : ["    ether saddr != @mac add @mac { ether saddr }"]),
    `    ether saddr != ${own} drop`,
    "    ether type != { ip, arp } drop",
    `    arp saddr ip != ${ip} drop`,
    `    arp saddr ether != ${own} drop`,
    `    ip saddr != ${ip} drop`,
    "  }",
    "}",
  ].join("\n") + "\n";
}

/** DNAT from the host's ports to the container: from outside (prerouting; never for a port
 * published on loopback, which is the host's alone) and from the host itself (output). */
export function portsNft(table: string, containerIp: string, publish: readonly Publish[]): string {
  const match = (p: Publish) => `fib daddr type local ${p.hostIp ? `ip daddr ${p.hostIp} ` : ""}${p.proto} dport ${p.hostPort} dnat to ${containerIp}:${p.containerPort}`;
  return [
    `table ip ${table} {`,
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...publish.filter((p) => !isLoopback(p.hostIp)).map((p) => `    ${match(p)}`),
    "  }",
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    ...publish.map((p) => `    ${match(p)}`),
    "  }",
    "}",
  ].join("\n") + "\n";
}

/** The commands that remove a container's tables (each alone, so one missing spares the other). */
export function removeContainerNft(nft: string, id: string, withPorts: boolean): string[][] {
  const table = containerTable(id);
  return [[nft, "delete", "table", "bridge", table], ...(withPorts ? [[nft, "delete", "table", "ip", table]] : [])];
}

/** box's tables among `nft list tables` output: the shared ones and every container's. */
export function boxTables(listing: string): Array<{ family: string; name: string }> {
  return listing.split("\n").flatMap((l) => {
    const m = /^table (ip|bridge) (box|box-[0-9a-f]{12})$/.exec(l.trim());
    return m ? [{ family: m[1]!, name: m[2]! }] : [];
  });
}
