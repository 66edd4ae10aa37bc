/**
 * A container's network, from the host's side: what `box run` asks for (none, host or bridge, and
 * published ports) becomes the helper's part (bridge, veth, address), the container's /etc/hosts and
 * /etc/resolv.conf, and what is given back when the container is gone. The only entry points the
 * container core uses: prepareNetwork and releaseNetwork.
 */
import { readFileSync } from "node:fs";
import { BoxError } from "../errors";
import type { Layout } from "../store/layout";
import { bridgeConfig, bridgeHosts, lease, leasePath, releaseLeases } from "./bridge";
import { claimPorts, portTable, releasePorts, type Publish } from "./ports";

export type NetworkMode = "none" | "host" | "bridge";

/** Where the nft command is looked for (box may run with a PATH that lacks sbin). */
const SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";

/** Published ports, and the nftables table that carries them (removed with the container). */
export interface PortsRecord {
  publish: Publish[];
  table: string;
  nft: string;
}

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
  /** Kept in the container's record, so releaseNetwork can find its firewall table. */
  ports?: PortsRecord;
  /** /proc/sys files the helper sets on the host before the container starts. */
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

function dropTable(ports: PortsRecord): void {
  Bun.spawnSync([ports.nft, "delete", "table", "ip", ports.table], { stdout: "ignore", stderr: "ignore" });
}

/** Everything the container's network needs on the host, before the helper starts it. */
export async function prepareNetwork(layout: Layout, id: string, req: NetworkRequest, cb: Callbacks): Promise<PreparedNetwork> {
  const hostResolv = readHostFile("/etc/resolv.conf");
  if (req.mode === "host") {
    return { hosts: readHostFile("/etc/hosts"), resolvConf: hostResolv, sysctls: [], cleanupExec: [], cleanupPaths: [] };
  }
  const resolvConf = containerResolvConf(hostResolv);
  if (req.mode === "none") return { hosts: hostsFile(req.hostname), resolvConf, sysctls: [], cleanupExec: [], cleanupPaths: [] };

  const config = bridgeConfig(layout);
  const { ensureOutbound } = await import("./nat");
  await ensureOutbound(layout, config);
  const ip = lease(layout, config, id, req.name, cb.exists);
  cb.undo(() => releaseLeases(layout, id));
  const bridge: BridgeAttachment = {
    bridge: config.name,
    gatewayCidr: `${config.gateway}/${config.prefix}`,
    hostVeth: `vb${id.slice(0, 12)}`,
    addressCidr: `${ip}/${config.prefix}`,
    gateway: config.gateway,
  };
  const hosts = bridgeHosts(layout, ip, req.hostname, req.name, cb.hostsOf);
  const prepared: PreparedNetwork = { bridge, hosts, resolvConf, sysctls: [], cleanupExec: [], cleanupPaths: [leasePath(layout, ip)] };
  if (req.publish.length > 0) {
    const nft = Bun.which("nft", { PATH: SBIN });
    if (!nft) throw new BoxError("-p needs nftables: install the nft command");
    const claims = await claimPorts(layout, id, req.publish, cb.exists);
    cb.undo(() => releasePorts(layout, id));
    const ports: PortsRecord = { publish: req.publish, table: `box-${id.slice(0, 12)}`, nft };
    const r = Bun.spawnSync([nft, "-f", "-"], { stdin: Buffer.from(portTable(ports.table, ip, req.publish)), stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new BoxError(`cannot publish the ports: nft says ${r.stderr.toString().trim()}`);
    cb.undo(() => dropTable(ports));
    prepared.ports = ports;
    // Published ports reach the container from the host's own loopback too, which the kernel
    // allows only with route_localnet on the bridge.
    prepared.sysctls.push([`/proc/sys/net/ipv4/conf/${bridge.bridge}/route_localnet`, "1"]);
    prepared.cleanupExec.push([nft, "delete", "table", "ip", ports.table]);
    prepared.cleanupPaths.push(...claims);
  }
  return prepared;
}

/** Its address, its host ports and their firewall table: given back when it no longer runs. */
export function releaseNetwork(layout: Layout, id: string, ports: PortsRecord | undefined): void {
  releaseLeases(layout, id);
  releasePorts(layout, id);
  if (ports) dropTable(ports);
}
