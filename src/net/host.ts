/**
 * The host's kernel settings the bridge needs, and giving them back: IP forwarding (turned on when
 * a bridge is first used; what it was is remembered and restored by `box network prune`),
 * route_localnet on box0 (on while a port is published, so the host's own 127.0.0.1 reaches it;
 * reset once none is), and box0's refusal of router advertisements.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../logger";
import { claim, readClaim, withDirLock } from "../store/claim";
import type { Layout } from "../store/layout";
import { BRIDGE, bridgeExists } from "./bridge";
import { livePortClaims, portDir } from "./ports";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
export const ROUTE_LOCALNET = `/proc/sys/net/ipv4/conf/${BRIDGE}/route_localnet`;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Where box notes the ip_forward value it found before turning forwarding on. */
function forwardNote(layout: Layout): string {
  return join(layout.lib, "network", "ip_forward.before");
}

/** IP forwarding on; the value found first is noted (once) so network prune can restore it. */
export function enableForwarding(layout: Layout): void {
  const was = read(IP_FORWARD);
  if (was === "1") return;
  try {
    if (was !== undefined && /^[0-9]+$/.test(was)) claim(forwardNote(layout), was, () => true);
    writeFileSync(IP_FORWARD, "1");
  } catch (err) {
    logger.warn(`cannot enable IP forwarding (${(err as Error).message}): containers on the bridge get no outbound access`);
  }
}

/** Puts ip_forward back to what box found, when box turned it on. */
export function restoreForwarding(layout: Layout): void {
  const note = forwardNote(layout);
  const was = readClaim(note);
  if (was !== undefined && was !== "damaged" && /^[0-9]+$/.test(was) && read(IP_FORWARD) === "1") writeFileSync(IP_FORWARD, was);
  if (was !== undefined && was === "damaged") logger.warn(`${note} is damaged: IP forwarding is left as it is`);
  rmSync(note, { force: true });
}

/** The /proc/sys files the helper writes once box0 exists, before any container is on it. */
export function bridgeSysctls(publishing: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  // CVE-2020-13401: an IPv6 router advertisement from a container would give the host a default
  // route through it (and addresses). box0 takes none, as docker's bridge.
  if (existsSync("/proc/sys/net/ipv6/conf/default")) out.push([`/proc/sys/net/ipv6/conf/${BRIDGE}/accept_ra`, "0"]);
  if (publishing) out.push([ROUTE_LOCALNET, "1"]);
  return out;
}

/**
 * route_localnet back off once no container that exists publishes a port. Judged under the ports'
 * lock, where ports are claimed: a container claiming one now is seen, or claims after the reset
 * (and its helper turns it on again). locked: the caller holds that lock.
 */
export function resetRouteLocalnet(layout: Layout, exists: (id: string) => boolean, locked = false): void {
  if (!bridgeExists() || read(ROUTE_LOCALNET) !== "1") return;
  const judge = () => {
    if (livePortClaims(layout, exists, true).length > 0) return;
    try {
      writeFileSync(ROUTE_LOCALNET, "0");
    } catch (err) {
      logger.warn(`cannot turn route_localnet off on ${BRIDGE}: ${(err as Error).message}`);
    }
  };
  if (locked) judge();
  else withDirLock(portDir(layout), judge);
}
