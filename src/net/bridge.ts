import { appendFileSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import { listDir } from "../store/dirs";
import type { Layout } from "../store/layout";

/**
 * The bridge network: one bridge, box0, with a private /24 that overlaps no route of the host
 * (chosen once, kept in <lib>/network/box0.json), and one address per container, leased by a file
 * created exclusively (<lib>/network/leases/<ip>, holding "id name"), released when it ends.
 */
export const BRIDGE = "box0";
const CANDIDATES = ["10.88.0.0/24", "10.89.0.0/24", "172.29.0.0/24", "192.168.229.0/24"];

export interface BridgeConfig {
  name: string;
  subnet: string;
  gateway: string;
  prefix: number;
}

function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

/** The host's IPv4 routes, from /proc/net/route (little-endian hex), other than box0's own. */
export function hostRoutes(text: string): Array<{ dest: number; mask: number }> {
  const le = (hex: string) => Number.parseInt(hex.match(/../g)!.reverse().join(""), 16) >>> 0;
  return text.split("\n").slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] !== BRIDGE && f[1] !== "00000000")
    .map((f) => ({ dest: le(f[1]!), mask: le(f[7]!) }));
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
export function bridgeExists(): boolean {
  try {
    return readFileSync("/proc/net/dev", "utf8").split("\n").some((l) => l.trim().startsWith(`${BRIDGE}:`));
  } catch {
    return false;
  }
}

export function bridgeConfig(layout: Layout): BridgeConfig {
  const dir = join(layout.lib, "network");
  const file = join(dir, `${BRIDGE}.json`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as BridgeConfig;
  } catch {
    /* not chosen yet */
  }
  mkdirSync(join(dir, "leases"), { recursive: true, mode: 0o700 });
  const subnet = chooseSubnet(hostRoutes(existsSync("/proc/net/route") ? readFileSync("/proc/net/route", "utf8") : ""));
  const config = { name: BRIDGE, subnet, gateway: toIp(toInt(subnet.split("/")[0]!) + 1), prefix: 24 };
  // Written whole under another name, then linked into place: a concurrent box either wins the
  // link or reads the complete choice of the one that did, never a half-written file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n");
  try {
    linkSync(tmp, file);
    return config;
  } catch {
    return JSON.parse(readFileSync(file, "utf8")) as BridgeConfig; // another box chose first
  } finally {
    unlinkSync(tmp);
  }
}

function leaseDir(layout: Layout): string {
  return join(layout.lib, "network", "leases");
}

export function leasePath(layout: Layout, ip: string): string {
  return join(leaseDir(layout), ip);
}

/** An address for a container: the first free one from .2, claimed exclusively. */
export function lease(layout: Layout, config: BridgeConfig, id: string, name: string | undefined, alive: (id: string) => boolean): string {
  mkdirSync(leaseDir(layout), { recursive: true, mode: 0o700 });
  const base = toInt(config.subnet.split("/")[0]!);
  for (let host = 2; host < 255; host++) {
    const ip = toIp(base + host);
    const path = leasePath(layout, ip);
    try {
      writeFileSync(path, `${id} ${name ?? ""}\n`, { flag: "wx" });
      return ip;
    } catch {
      // Taken: by a container that still exists, or left by one that is gone (reclaimed).
      const holder = readLease(path)?.id;
      if (holder && !alive(holder)) {
        try {
          unlinkSync(path);
        } catch {
          /* reclaimed by another box first */
        }
        host--;
      }
    }
  }
  throw new BoxError(`the bridge ${config.name} has no free address left in ${config.subnet}`);
}

function readLease(path: string): { id: string; name: string } | undefined {
  try {
    const [id = "", name = ""] = readFileSync(path, "utf8").trim().split(" ");
    return { id, name };
  } catch {
    return undefined;
  }
}

/** Every lease: address, container, name. */
export function leases(layout: Layout): Array<{ ip: string; id: string; name: string }> {
  return listDir(leaseDir(layout)).flatMap((ip) => {
    const l = readLease(leasePath(layout, ip));
    return l ? [{ ip, ...l }] : [];
  });
}

export function releaseLeases(layout: Layout, id: string): void {
  for (const l of leases(layout)) if (l.id === id) rmLease(layout, l.ip);
}

function rmLease(layout: Layout, ip: string): void {
  try {
    unlinkSync(leasePath(layout, ip));
  } catch {
    /* gone */
  }
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
