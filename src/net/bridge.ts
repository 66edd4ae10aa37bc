import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { writeFileAtomic } from "../store/atomic";
import { claim, listClaims, reclaimIfDead, release } from "../store/claim";
import type { Layout } from "../store/layout";

/**
 * The bridge network: one bridge, box0, with a private /24 that overlaps no route of the host
 * (chosen once, kept in <lib>/network/box0.json), and one address per container, leased by a claim
 * (<lib>/network/leases/<ip>, holding "id name", see src/store/claim.ts), given back when it ends.
 */
export const BRIDGE = "box0";
const CANDIDATES = ["10.88.0.0/24", "10.89.0.0/24", "172.29.0.0/24", "192.168.229.0/24"];

export interface BridgeConfig {
  name: string;
  subnet: string;
  gateway: string;
  prefix: number;
}

export function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

interface Route {
  iface: string;
  dest: number;
  mask: number;
}

function routes(text: string): Route[] {
  const le = (hex: string) => Number.parseInt(hex.match(/../g)!.reverse().join(""), 16) >>> 0;
  return text.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && /^[0-9A-Fa-f]{8}$/.test(f[1]!) && /^[0-9A-Fa-f]{8}$/.test(f[7]!))
    .map((f) => ({ iface: f[0]!, dest: le(f[1]!), mask: le(f[7]!) }));
}

/** The host's IPv4 routes, from /proc/net/route (little-endian hex), other than box0's own. */
export function hostRoutes(text: string): Array<{ dest: number; mask: number }> {
  return routes(text).filter((r) => r.iface !== BRIDGE && r.dest !== 0).map(({ dest, mask }) => ({ dest, mask }));
}

/** The /24 box0 is on now, from its route in /proc/net/route; undefined when it has none. */
export function bridgeSubnet(text: string): string | undefined {
  const r = routes(text).find((x) => x.iface === BRIDGE && x.mask === 0xffffff00);
  return r ? `${toIp(r.dest)}/24` : undefined;
}

export function chooseSubnet(routes: Array<{ dest: number; mask: number }>): string {
  for (const c of CANDIDATES) {
    const base = toInt(c.split("/")[0]!);
    const mask = 0xffffff00;
    const clash = routes.some((r) => ((base & r.mask) >>> 0) === r.dest || ((r.dest & mask) >>> 0) === base);
    if (!clash) return c;
  }
  throw new BoxError(`every subnet box can use for its bridge (${CANDIDATES.join(", ")}) overlaps a route of this host`);
}

/** Whether box0 exists in this process's network namespace (/proc/net/dev is per namespace, unlike
 * /sys/class/net, which shows the namespace sysfs was mounted from). */
/** The host ends of box's veths in this network namespace ("vb" and 12 hex digits, from
 * /proc/net/dev, which shows the reader's own namespace): containers on box0, of any store. */
export function bridgePorts(): string[] {
  try {
    return readFileSync("/proc/net/dev", "utf8").split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter((n) => /^vb[0-9a-f]{12}$/.test(n));
  } catch {
    return [];
  }
}

export function bridgeExists(): boolean {
  try {
    return readFileSync("/proc/net/dev", "utf8").split("\n").some((l) => l.trim().startsWith(`${BRIDGE}:`));
  } catch {
    return false;
  }
}

function configFor(subnet: string): BridgeConfig {
  return { name: BRIDGE, subnet, gateway: toIp(toInt(subnet.split("/")[0]!) + 1), prefix: 24 };
}

/** A bridge config as read from disk, checked field by field; undefined when it is not one. */
export function parseBridgeConfig(text: string): BridgeConfig | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const c = v as Record<string, unknown>;
  if (typeof c.subnet !== "string" || !/\.0\/24$/.test(c.subnet) || !IPV4.test(c.subnet.slice(0, -3))) return undefined;
  const expected = configFor(c.subnet);
  return c.name === expected.name && c.gateway === expected.gateway && c.prefix === expected.prefix ? expected : undefined;
}

function readRoutes(): string {
  return existsSync("/proc/net/route") ? readFileSync("/proc/net/route", "utf8") : "";
}

/**
 * The bridge's config: as chosen before, else chosen now. A damaged file is named and replaced:
 * by the subnet box0 has, when it exists, else by a new choice.
 */
export function bridgeConfig(layout: Layout): BridgeConfig {
  const file = join(layout.lib, "network", `${BRIDGE}.json`);
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    /* not chosen yet */
  }
  if (text !== undefined) {
    const config = parseBridgeConfig(text);
    if (config) return config;
  }
  const table = readRoutes();
  const current = bridgeExists() ? bridgeSubnet(table) : undefined;
  const config = configFor(current ?? chooseSubnet(hostRoutes(table)));
  const content = JSON.stringify(config, null, 2) + "\n";
  if (text !== undefined) {
    logger.warn(`the bridge's config ${file} is damaged: replaced by ${config.subnet}`);
    writeFileAtomic(file, content, 0o644);
    return config;
  }
  // A claim: a concurrent box either wins or reads the complete choice of the one that did.
  const won = claim(file, JSON.stringify(config), () => true);
  return won.ok ? config : (parseBridgeConfig(won.holder) ?? config);
}

function leaseDir(layout: Layout): string {
  return join(layout.lib, "network", "leases");
}

export function leasePath(layout: Layout, ip: string): string {
  return join(leaseDir(layout), ip);
}

/** A lease's holder text: the container's id, then its name (may be empty). */
function parseLease(holder: string): { id: string; name: string } | undefined {
  const [id = "", name = "", ...rest] = holder.split(" ");
  return /^[0-9a-f]{64}$/.test(id) && rest.length === 0 ? { id, name } : undefined;
}

/** An address for a container: the first free one from .2, claimed; dead holders' are taken back. */
export function lease(layout: Layout, config: BridgeConfig, id: string, name: string | undefined, alive: (id: string) => boolean): string {
  const base = toInt(config.subnet.split("/")[0]!);
  const holderAlive = (holder: string) => {
    const l = parseLease(holder);
    return l !== undefined && alive(l.id);
  };
  for (let host = 2; host < 255; host++) {
    const ip = toIp(base + host);
    if (claim(leasePath(layout, ip), `${id} ${name ?? ""}`, holderAlive).ok) return ip;
  }
  throw new BoxError(`the bridge ${config.name} has no free address left in ${config.subnet}`);
}

/** Every well-formed lease: address, container, name. Damaged ones are skipped (and taken back by
 * the next lease that needs the address). */
export function leases(layout: Layout): Array<{ ip: string; id: string; name: string }> {
  return listClaims(leaseDir(layout)).flatMap(({ name: ip, holder }) => {
    const l = holder === "damaged" || !IPV4.test(ip) ? undefined : parseLease(holder);
    return l ? [{ ip, ...l }] : [];
  });
}

/** Takes back every lease (damaged ones too) whose container no longer exists. */
export function reclaimDeadLeases(layout: Layout, alive: (id: string) => boolean): void {
  const holderAlive = (holder: string) => {
    const l = parseLease(holder);
    return l !== undefined && alive(l.id);
  };
  for (const c of listClaims(leaseDir(layout))) reclaimIfDead(join(leaseDir(layout), c.name), holderAlive);
}

export function releaseLeases(layout: Layout, id: string): void {
  for (const l of leases(layout)) if (l.id === id) release(leasePath(layout, l.ip), `${l.id} ${l.name}`);
}

/**
 * /etc/hosts for a container on the bridge: its own address and name, and the named containers
 * already there; and a line for the new one in each of theirs, so they reach each other by name.
 */
export function bridgeHosts(layout: Layout, ip: string, hostname: string, name: string | undefined, hostsOf: (id: string) => string | undefined): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `${ip}\t${hostname}${name && name !== hostname ? " " + name : ""}`];
  for (const other of leases(layout)) {
    if (other.ip === ip || !other.name) continue;
    lines.push(`${other.ip}\t${other.name}`);
    const file = hostsOf(other.id);
    if (file && name) {
      try {
        appendFileSync(file, `${ip}\t${name}\n`); // in place: it is bind-mounted into that container
      } catch {
        /* that container is going away */
      }
    }
  }
  return lines.join("\n") + "\n";
}
