/**
 * A container's network, from the host's side: what `box run` asks for (none, host or bridge, and
 * published ports) becomes the helper's part (bridge, veth, address, sysctls), the firewall rules,
 * the container's /etc/hosts and /etc/resolv.conf, and what is given back when the container is
 * gone. The only entry points the container core uses: prepareNetwork and releaseNetwork.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError, describeSystemError } from "../errors";
import { logger } from "../logger";
import { withDirLock } from "../store/claim";
import type { Layout } from "../store/layout";
import { bridgeConfig, bridgeExists, bridgeHosts, IPV4, lease, leasePath, leases, releaseLeases } from "./bridge";
import { addRules, chooseFirewall, containerRemoval, findTools, runQuietly, type FirewallKind } from "./firewall";
import { bridgeSysctls, enableForwarding, resetRouteLocalnet } from "./host";
import { checkPublish, claimPorts, portDir, portHolders, releasePorts, type Publish } from "./ports";

/** bridge (root's), none, host; pasta and slirp4netns for rootless containers (./usermode.ts). */
export type NetworkMode = "none" | "host" | "bridge" | "pasta" | "slirp4netns";
export type { FirewallKind } from "./firewall";

/**
 * What box remembers of a bridged container's network (in its record), so that releaseNetwork
 * can take it all back even when the container's supervisor was killed.
 */
export interface NetworkRecord {
  /** The firewall that holds the container's rules. */
  firewall: FirewallKind;
  /** Its veth on the host, and its address. */
  veth: string;
  ip: string;
  /** Its published ports. */
  publish: Publish[];
}

/** The container record's field is still called `ports`; it holds the whole NetworkRecord. */
export type PortsRecord = NetworkRecord;

/** What the helper does on the host for a bridged container. */
export interface BridgeAttachment {
  bridge: string;
  gatewayCidr: string;
  hostVeth: string;
  addressCidr: string;
  gateway: string;
}

export interface NetworkRequest {
  mode: NetworkMode;
  name?: string;
  hostname: string;
  publish: Publish[];
}

export interface PreparedNetwork {
  bridge?: BridgeAttachment;
  /** The container's /etc/hosts and /etc/resolv.conf. */
  hosts: string;
  resolvConf: string;
  /** Kept in the container's record (for every bridged container), for releaseNetwork. */
  ports?: NetworkRecord;
  /** /proc/sys files the helper sets on the host once the bridge exists, before the container starts. */
  sysctls: Array<[path: string, value: string]>;
  /** Programs the helper runs after the container ended, and paths it removes. */
  cleanupExec: string[][];
  cleanupPaths: string[];
}

export interface Callbacks {
  /** Whether the container with this id still exists (its claims are taken back otherwise). */
  exists(id: string): boolean;
  /** The /etc/hosts file of another container, to add this one's name to it. */
  hostsOf(id: string): string | undefined;
  /** Registers how to undo a step, should the container's creation fail later. */
  undo(step: () => void): void;
}

function readHostFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The host's resolv.conf without loopback nameservers, which mean nothing in the container's network. */
export function containerResolvConf(host: string): string {
  const lines = host.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  return lines.join("\n").trimEnd() + "\n";
}

export function hostsFile(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`;
}

/** Everything the container's network needs on the host, before the helper starts it. */
export async function prepareNetwork(layout: Layout, id: string, req: NetworkRequest, cb: Callbacks): Promise<PreparedNetwork> {
  const hostResolv = readHostFile("/etc/resolv.conf");
  if (req.mode === "host") {
    return { hosts: readHostFile("/etc/hosts"), resolvConf: hostResolv, sysctls: [], cleanupExec: [], cleanupPaths: [] };
  }
  const resolvConf = containerResolvConf(hostResolv);
  if (req.mode !== "bridge") {
    // slirp4netns answers DNS itself, at 10.0.2.3; pasta's container uses the host's servers.
    const conf = req.mode === "slirp4netns" ? `nameserver 10.0.2.3\n${resolvConf.replace(/^\s*nameserver.*\n/gm, "")}` : resolvConf;
    return { hosts: hostsFile(req.hostname), resolvConf: conf, sysctls: [], cleanupExec: [], cleanupPaths: [] };
  }
  try {
    return await prepareBridge(layout, id, req, cb, resolvConf);
  } catch (err) {
    // A file box could not write or read (a full disk, a read-only store): one sentence, not a trace.
    if (err instanceof BoxError || !(err && typeof err === "object" && "code" in err)) throw err;
    throw new BoxError(`cannot set up the bridge network: ${describeSystemError(err)}`);
  }
}

async function prepareBridge(layout: Layout, id: string, req: NetworkRequest, cb: Callbacks, resolvConf: string): Promise<PreparedNetwork> {
  const config = bridgeConfig(layout);
  const tools = findTools();
  const firewall = chooseFirewall(tools);
  if (req.publish.length > 0 && firewall === "none") throw new BoxError("-p needs nftables or iptables: install the nft command (or iptables)");
  const ip = lease(layout, config, id, req.name, cb.exists);
  cb.undo(() => releaseLeases(layout, id));
  const record: NetworkRecord = { firewall, veth: `vb${id.slice(0, 12)}`, ip, publish: req.publish };
  const bridge: BridgeAttachment = {
    bridge: config.name,
    gatewayCidr: `${config.gateway}/${config.prefix}`,
    hostVeth: record.veth,
    addressCidr: `${ip}/${config.prefix}`,
    gateway: config.gateway,
  };
  const hosts = bridgeHosts(layout, ip, req.hostname, req.name, cb.hostsOf);
  const claims = req.publish.length > 0 ? await claimPorts(layout, id, req.publish, cb.exists) : [];
  if (claims.length > 0) cb.undo(() => releasePorts(layout, id));
  else resetRouteLocalnet(layout, cb.exists);

  // The rules go in before forwarding is turned on and before route_localnet is: the guard and
  // the forward filter are in place before anything they guard can happen.
  const cleanupExec = addRules(layout, config, tools, firewall, { id, veth: record.veth, ip, publish: req.publish });
  cb.undo(() => runQuietly(cleanupExec));
  if (firewall !== "none") enableForwarding(layout);
  else if (!bridgeExists()) warnUnguarded();

  return {
    bridge,
    hosts,
    resolvConf,
    ports: record,
    sysctls: bridgeSysctls(req.publish.length > 0),
    cleanupExec,
    cleanupPaths: [leasePath(layout, ip), ...claims],
  };
}

/** With neither firewall, box turns nothing on, and says what that means for the containers. */
function warnUnguarded(): void {
  let forwarding = "0";
  try {
    forwarding = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
  } catch {
    /* no IPv4 forwarding to speak of */
  }
  logger.warn(forwarding === "1"
    ? "neither nft nor iptables is installed: containers on the bridge get no outbound access, and nothing keeps the networks this host forwards for from reaching them"
    : "neither nft nor iptables is installed: containers on the bridge get no outbound access (and the host forwards nothing for them)");
}

/** A record as read back from a container's config: checked; older records (ports only) too. */
export function checkRecord(v: unknown): NetworkRecord | undefined {
  if (!v || typeof v !== "object") return undefined;
  const r = v as Record<string, unknown>;
  const publish = Array.isArray(r.publish) ? r.publish.map(checkPublish) : [];
  if (publish.some((p) => p === undefined)) return undefined;
  const firewall = r.firewall === "nft" || r.firewall === "iptables" || r.firewall === "none" ? r.firewall : typeof r.nft === "string" ? "nft" : undefined;
  if (!firewall) return undefined;
  const veth = typeof r.veth === "string" && /^vb[0-9a-f]{12}$/.test(r.veth) ? r.veth : "";
  const ip = typeof r.ip === "string" && IPV4.test(r.ip) ? r.ip : "";
  return { firewall, veth, ip, publish: publish as Publish[] };
}

/**
 * Gives back everything of a container's network: its firewall rules, its address, its host ports,
 * and route_localnet once no port is published. saved is the container's record (what
 * prepareNetwork returned as `ports`), checked here.
 *
 * The rules are looked for only while the container still holds its address or a port: its helper
 * gives those back after it has removed the rules, so a container without them has none left (a
 * supervisor killed before its clean-up leaves both). They are removed from the firewall the record
 * names, or, without a record (damaged, or from an older box), from every firewall present.
 * Safe to call any number of times, for a container in any state, also one that never had a
 * network (then it costs a directory listing or two).
 */
export function releaseNetwork(layout: Layout, id: string, saved?: unknown): void {
  const record = checkRecord(saved);
  const holdsPorts = portHolders(layout).includes(id);
  const held = holdsPorts || leases(layout).some((l) => l.id === id);
  if (held) {
    const tools = findTools();
    const kinds: FirewallKind[] = record ? [record.firewall] : ["nft", "iptables"];
    const publish = record ? record.publish.length > 0 : true;
    runQuietly(containerRemoval(tools, kinds, { id, veth: record?.veth || `vb${id.slice(0, 12)}`, publish }));
  }
  releaseLeases(layout, id);
  const exists = (other: string) => other !== id && existsSync(join(layout.containers, other));
  if (!holdsPorts) return resetRouteLocalnet(layout, exists);
  withDirLock(portDir(layout), () => {
    releasePorts(layout, id, true);
    resetRouteLocalnet(layout, exists, true);
  });
}
