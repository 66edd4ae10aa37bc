/**
 * The same rules as nft.ts for a host without nft: iptables (through iptables-restore, one
 * transaction per call) and ebtables for what enters the bridge. Chains of box's own, each jumped
 * to from a built-in chain by one rule, so removing them is exact:
 *
 *   raw    BOX-GUARD        <- PREROUTING            the loopback guard
 *   filter BOX-FORWARD      <- FORWARD (first)       the forward filter
 *   nat    BOX-POSTROUTING  <- POSTROUTING           outbound masquerade
 *   nat    BOX-DNAT         <- PREROUTING, OUTPUT    (local destinations) jumps to each BOX-ID
 *   nat    BOX-ID           <- BOX-DNAT              a container's published ports
 *   ebtables filter BOX-ID  <- INPUT, FORWARD (-i its veth)   what may enter from a container
 *
 * What ebtables cannot do: pin a container's MAC address (it has no sets filled by traffic).
 */
import { BRIDGE, type BridgeConfig } from "./bridge";
import type { Publish } from "./ports";

export function containerChain(id: string): string {
  return `BOX-${id.slice(0, 12)}`;
}

/** iptables-save output, split by table: for each, its lines (chains and rules). */
export function parseSave(text: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) tables.set(line.slice(1).trim(), (current = []));
    else if (line === "COMMIT") current = undefined;
    else if (current && (line.startsWith(":") || line.startsWith("-A "))) current.push(line.trim());
  }
  return tables;
}

const hasChain = (lines: string[] | undefined, chain: string) => (lines ?? []).some((l) => l.startsWith(`:${chain} `));
const hasRule = (lines: string[] | undefined, rule: string) => (lines ?? []).includes(rule);

/** The jumps from built-in chains to box's, as iptables-save writes them. */
const JUMPS = {
  raw: ["-A PREROUTING -j BOX-GUARD"],
  filter: ["-A FORWARD -j BOX-FORWARD"],
  // From outside, never to loopback: a port published on 127.0.0.1 is the host's alone.
  nat: ["-A POSTROUTING -j BOX-POSTROUTING", "-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j BOX-DNAT", "-A OUTPUT -m addrtype --dst-type LOCAL -j BOX-DNAT"],
} as const;

/** What earlier versions of box appended to built-in chains directly. */
function legacyRules(config: BridgeConfig): Record<string, string[]> {
  return {
    nat: [`-A POSTROUTING -s ${config.subnet} ! -o ${BRIDGE} -j MASQUERADE`],
    filter: [`-A FORWARD -i ${BRIDGE} -j ACCEPT`, `-A FORWARD -o ${BRIDGE} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`],
  };
}

function dnatRules(chain: string, ip: string, publish: readonly Publish[]): string[] {
  return publish.map((p) => `-A ${chain} ${p.hostIp ? `-d ${p.hostIp}/32 ` : ""}-p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${ip}:${p.containerPort}`);
}

/**
 * An iptables-restore --noflush script that makes box's shared chains current (a chain declared in
 * such a script is emptied first, then filled), adds the jumps to them that are missing, drops the
 * rules earlier versions of box put in built-in chains, and adds a container's published ports.
 * saved: iptables-save's output now.
 */
export function iptablesScript(config: BridgeConfig, saved: string, container?: { id: string; ip: string; publish: readonly Publish[] }): string {
  const now = parseSave(saved);
  const legacy = legacyRules(config);
  const out: string[] = [];
  const table = (name: keyof typeof JUMPS, chains: string[], rules: string[]) => {
    out.push(`*${name}`);
    out.push(...chains.map((c) => `:${c} - [0:0]`));
    out.push(...rules);
    // A jump that exists stays where it is; one that is missing is added (FORWARD's first).
    for (const jump of JUMPS[name]) if (!hasRule(now.get(name), jump)) out.push(name === "filter" ? jump.replace("-A FORWARD", "-I FORWARD 1") : name === "raw" ? jump.replace("-A PREROUTING", "-I PREROUTING 1") : jump);
    for (const rule of legacy[name] ?? []) if (hasRule(now.get(name), rule)) out.push(rule.replace(/^-A /, "-D "));
    out.push("COMMIT");
  };
  const br = BRIDGE;
  table("raw", ["BOX-GUARD"], ["-A BOX-GUARD -d 127.0.0.0/8 ! -i lo -j DROP"]);
  table("filter", ["BOX-FORWARD"], [
    `-A BOX-FORWARD -i ${br} -j ACCEPT`,
    `-A BOX-FORWARD -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A BOX-FORWARD -o ${br} -m conntrack --ctstate DNAT -j ACCEPT`,
    `-A BOX-FORWARD -o ${br} -j DROP`,
  ]);
  // BOX-DNAT holds the containers' jumps: declared (which empties it) only when it is missing.
  const natChains = ["BOX-POSTROUTING", ...(hasChain(now.get("nat"), "BOX-DNAT") ? [] : ["BOX-DNAT"])];
  const natRules = [
    `-A BOX-POSTROUTING -s ${config.subnet} ! -o ${br} -j MASQUERADE`,
    `-A BOX-POSTROUTING -s 127.0.0.0/8 -o ${br} -j MASQUERADE`,
    `-A BOX-POSTROUTING -s ${config.subnet} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`,
  ];
  if (container && container.publish.length > 0) {
    const chain = containerChain(container.id);
    natChains.push(chain);
    natRules.push(...dnatRules(chain, container.ip, container.publish));
    if (!hasRule(now.get("nat"), `-A BOX-DNAT -j ${chain}`)) natRules.push(`-A BOX-DNAT -j ${chain}`);
  }
  table("nat", natChains, natRules);
  return out.join("\n") + "\n";
}

/** The commands that remove a container's published ports (run by the helper when it ends). */
export function removeContainerIptables(iptables: string, id: string): string[][] {
  const chain = containerChain(id);
  return [[iptables, "-t", "nat", "-D", "BOX-DNAT", "-j", chain], [iptables, "-t", "nat", "-F", chain], [iptables, "-t", "nat", "-X", chain]];
}

/** An ebtables-restore --noflush script: what may enter the bridge from a container's veth. */
export function ebtablesScript(id: string, veth: string, ip: string): string {
  const chain = containerChain(id);
  return [
    "*filter",
    `:${chain} RETURN`,
    `-A ${chain} -p ARP --arp-ip-src ! ${ip} -j DROP`,
    `-A ${chain} -p IPv4 --ip-src ! ${ip} -j DROP`,
    `-A ${chain} -p ARP -j RETURN`,
    `-A ${chain} -p IPv4 -j RETURN`,
    // Everything else: IPv6 (router advertisements among it), other protocols, VLAN tags.
    `-A ${chain} -j DROP`,
    `-A INPUT -i ${veth} -j ${chain}`,
    `-A FORWARD -i ${veth} -j ${chain}`,
  ].join("\n") + "\n";
}

export function removeContainerEbtables(ebtables: string, id: string, veth: string): string[][] {
  const chain = containerChain(id);
  return [
    [ebtables, "-D", "INPUT", "-i", veth, "-j", chain],
    [ebtables, "-D", "FORWARD", "-i", veth, "-j", chain],
    [ebtables, "-F", chain],
    [ebtables, "-X", chain],
  ];
}

/**
 * An iptables-restore --noflush script removing everything of box's in an iptables-save output:
 * its jumps, its chains (BOX-*), and what earlier versions put in built-in chains. Empty when
 * there is nothing.
 */
export function iptablesRemoval(saved: string, config: BridgeConfig | undefined): string {
  const now = parseSave(saved);
  const out: string[] = [];
  for (const [name, lines] of now) {
    const legacy = config ? legacyRules(config)[name] ?? [] : [];
    const jumps = lines.filter((l) => l.startsWith("-A ") && / -j BOX-[A-Z0-9a-f-]+$/.test(l) && !/^-A BOX-/.test(l));
    const mine = lines.filter((l) => /^:BOX-[A-Za-z0-9-]+ /.test(l)).map((l) => l.slice(1).split(" ")[0]!);
    const old = lines.filter((l) => legacy.includes(l));
    if (jumps.length + mine.length + old.length === 0) continue;
    out.push(`*${name}`, ...jumps.map((l) => l.replace(/^-A /, "-D ")), ...old.map((l) => l.replace(/^-A /, "-D ")));
    out.push(...mine.map((c) => `-F ${c}`), ...mine.map((c) => `-X ${c}`), "COMMIT");
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** The same for ebtables-save output (one table, filter, for box). */
export function ebtablesRemoval(saved: string): string {
  const lines = saved.split("\n").map((l) => l.trim());
  const jumps = lines.filter((l) => /^-A (INPUT|FORWARD|OUTPUT) .* -j BOX-[0-9a-f]{12}$/.test(l));
  const mine = lines.filter((l) => /^:BOX-[0-9a-f]{12} /.test(l)).map((l) => l.slice(1).split(" ")[0]!);
  if (jumps.length + mine.length === 0) return "";
  return ["*filter", ...jumps.map((l) => l.replace(/^-A /, "-D ")), ...mine.map((c) => `-F ${c}`), ...mine.map((c) => `-X ${c}`)].join("\n") + "\n";
}
