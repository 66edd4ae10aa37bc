import { defineCommand, type ArgsDef } from "citty";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { BRIDGE, bridgeExists, bridgePorts, leases, parseBridgeConfig, reclaimDeadLeases } from "../net/bridge";
import { findTools, removeEverything } from "../net/firewall";
import { restoreForwarding } from "../net/host";
import { livePortClaims, portDir } from "../net/ports";
import { encodePlan } from "../spec/plan";
import { withDirLock } from "../store/claim";
import { withLock } from "../store/lock";
import { parseOrHelp, requireRoot, storeFor } from "./common";

const args = {
  action: { type: "positional", required: true, valueHint: "prune", description: "prune: remove the bridge box0 and everything box added to the host for it, when no container uses it" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "network", description: "Manage box's bridge network" }, args });

/**
 * box network prune: once no container that exists is on the bridge, removes what box added for
 * it: its firewall rules (in whichever of nftables, iptables and ebtables holds them; nothing
 * else of theirs), IP forwarding as box found it, the leases and port claims left by containers
 * that are gone, the bridge's config, and box0 itself.
 */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "network" });
  if (!line) return 0;
  if (line.words.length !== 1 || line.words[0] !== "prune") throw new BoxError("box network takes one action: prune. See 'box network --help'.");
  requireRoot("network prune", "the bridge is root's (a rootless container has pasta, slirp4netns or none)");
  const layout = storeFor("network", line, globals);
  const exists = (id: string) => existsSync(join(layout.containers, id));
  return withLock(join(layout.locks, "network.lock"), async () => {
    const users = leases(layout).filter((l) => exists(l.id));
    if (users.length > 0) throw new BoxError(`the bridge ${BRIDGE} is used by ${users.length} container${users.length > 1 ? "s" : ""}: remove them first`);
    // box0 is the host's, not this store's: containers of another store (--root) may be on it.
    const ports = bridgePorts();
    if (ports.length > 0) {
      throw new BoxError(`the bridge ${BRIDGE} still has ${ports.length} interface${ports.length > 1 ? "s" : ""} on it (${ports.slice(0, 3).join(", ")}): containers of another box store use it`);
    }
    const configFile = join(layout.lib, "network", `${BRIDGE}.json`);
    let config;
    try {
      config = parseBridgeConfig(readFileSync(configFile, "utf8"));
    } catch {
      /* never chosen, or gone */
    }
    const failed = removeEverything(layout, findTools(), config);
    if (failed.length > 0) {
      // The bridge and its config stay, so a later prune (once the firewall answers) finds it all.
      for (const message of failed.slice(1)) logger.error(message);
      throw new BoxError(failed[0]!);
    }
    restoreForwarding(layout);
    reclaimDeadLeases(layout, exists);
    withDirLock(portDir(layout), () => livePortClaims(layout, exists, true));
    rmSync(configFile, { force: true });
    if (!bridgeExists()) return 0;
    const { becomeHelper } = await import("../helper");
    return becomeHelper(encodePlan([["delete_link", BRIDGE]]), layout);
  });
}
