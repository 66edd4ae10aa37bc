import { defineCommand, type ArgsDef } from "citty";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { BRIDGE, bridgeExists, leases } from "../net/bridge";
import { encodePlan } from "../spec/plan";
import { withLock } from "../store/lock";
import { parseOrHelp, storeFor } from "./common";

const args = {
  action: { type: "positional", required: true, valueHint: "prune", description: "prune: remove the bridge box0 and its NAT rules when no container uses them" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "network", description: "Manage box's bridge network" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "network" });
  if (!line) return 0;
  if (line.words.length !== 1 || line.words[0] !== "prune") throw new BoxError("box network takes one action: prune. See 'box network --help'.");
  const layout = storeFor("network", line, globals);
  return withLock(join(layout.locks, "network.lock"), async () => {
    const users = leases(layout);
    if (users.length > 0) throw new BoxError(`the bridge ${BRIDGE} is used by ${users.length} container${users.length > 1 ? "s" : ""}: remove them first`);
    Bun.spawnSync(["nft", "delete", "table", "ip", "box"], { stdout: "ignore", stderr: "ignore", env: { PATH: "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin" } });
    rmSync(join(layout.lib, "network", `${BRIDGE}.json`), { force: true });
    if (!bridgeExists()) return 0;
    const { becomeHelper } = await import("../helper");
    return becomeHelper(encodePlan([["delete_link", BRIDGE]]), layout);
  });
}
