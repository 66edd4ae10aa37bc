/**
 * Which firewall carries the bridge's rules, and running it: nftables when the nft command is
 * there, else iptables (with ebtables for what enters the bridge), else none (box then turns
 * nothing on: no forwarding, no published ports). The rules themselves: nft.ts, xtables.ts.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BoxError, describeSystemError } from "../errors";
import { logger } from "../logger";
import { writeFileAtomic } from "../store/atomic";
import type { Layout } from "../store/layout";
import { bridgeExists, type BridgeConfig } from "./bridge";
import { boxTables, bridgeNft, containerTable, portsNft, removeContainerNft, sharedNft } from "./nft";
import type { Publish } from "./ports";
import { ebtablesRemoval, ebtablesScript, iptablesRemoval, iptablesScript, removeContainerEbtables, removeContainerIptables } from "./xtables";

export type FirewallKind = "nft" | "iptables" | "none";

/** Where the firewall commands are looked for (box may run with a PATH that lacks sbin). */
export const SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";

export interface Tools {
  nft?: string;
  iptables?: { iptables: string; save: string; restore: string };
  ebtables?: { ebtables: string; save: string; restore: string };
}

export function findTools(): Tools {
  const which = (name: string) => Bun.which(name, { PATH: SBIN }) ?? undefined;
  const trio = (name: string) => {
    const [cmd, save, restore] = [which(name), which(`${name}-save`), which(`${name}-restore`)];
    return cmd && save && restore ? { cmd, save, restore } : undefined;
  };
  const ipt = trio("iptables");
  const ebt = trio("ebtables");
  return {
    nft: which("nft"),
    iptables: ipt && { iptables: ipt.cmd, save: ipt.save, restore: ipt.restore },
    ebtables: ebt && { ebtables: ebt.cmd, save: ebt.save, restore: ebt.restore },
  };
}

export function chooseFirewall(tools: Tools): FirewallKind {
  return tools.nft ? "nft" : tools.iptables ? "iptables" : "none";
}

function sh(argv: string[], stdin?: string): { code: number; stdout: string; stderr: string } {
  try {
    const r = Bun.spawnSync(argv, { stdin: stdin !== undefined ? Buffer.from(stdin) : "ignore", stdout: "pipe", stderr: "pipe", env: { PATH: SBIN } });
    return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString().trim() };
  } catch (err) {
    return { code: 127, stdout: "", stderr: (err as Error).message }; // gone since it was looked for
  }
}

function must(argv: string[], stdin: string | undefined, what: string): string {
  const r = sh(argv, stdin);
  if (r.code !== 0) {
    const name = argv[0]!.split("/").pop();
    throw new BoxError(`cannot ${what}: ${name} says ${r.stderr.split("\n")[0] || `exit status ${r.code}`}`);
  }
  return r.stdout;
}

/** One container on the bridge, as its rules see it. */
export interface Member {
  id: string;
  veth: string;
  ip: string;
  publish: readonly Publish[];
}

/** The version of the iptables rules; a host whose note says otherwise gets them made anew. */
const IPTABLES_RULES = "2";

function iptablesNote(layout: Layout): string {
  return join(layout.lib, "network", "iptables");
}

/**
 * The bridge's shared rules made current, and the container's own added: for nftables in one
 * transaction; for iptables, the shared chains when the bridge is new, the rules changed, or a
 * port is published (the loopback guard is then checked), then the container's. Returns the
 * commands that remove the container's rules (the helper runs them when the container ends).
 */
export function addRules(layout: Layout, config: BridgeConfig, tools: Tools, kind: FirewallKind, m: Member): string[][] {
  if (kind === "nft") {
    const table = containerTable(m.id);
    const script = sharedNft(config) + bridgeNft(table, m.veth, m.ip) + (m.publish.length ? portsNft(table, m.ip, m.publish) : "");
    must([tools.nft!, "-f", "-"], script, "set up the bridge's nftables rules");
    return removeContainerNft(tools.nft!, m.id, m.publish.length > 0);
  }
  if (kind === "none") return [];
  const ipt = tools.iptables!;
  const undo: string[][] = [];
  let noted: string | undefined;
  try {
    noted = readFileSync(iptablesNote(layout), "utf8").trim();
  } catch {
    /* none yet */
  }
  if (!bridgeExists() || noted !== IPTABLES_RULES || m.publish.length > 0) {
    const saved = must([ipt.save], undefined, "read the iptables rules");
    must([ipt.restore, "--noflush"], iptablesScript(config, saved, m), "set up the bridge's iptables rules");
    if (m.publish.length) undo.push(...removeContainerIptables(ipt.iptables, m.id));
    if (noted !== IPTABLES_RULES) {
      try {
        writeFileAtomic(iptablesNote(layout), IPTABLES_RULES + "\n");
      } catch (err) {
        runQuietly(undo);
        throw new BoxError(`cannot write ${iptablesNote(layout)}: ${describeSystemError(err)}`);
      }
    }
  }
  if (tools.ebtables) {
    try {
      must([tools.ebtables.restore, "--noflush"], ebtablesScript(m.id, m.veth, m.ip), "set up the bridge's ebtables rules");
    } catch (err) {
      runQuietly(undo); // the container's DNAT chain, made just before
      throw err;
    }
    undo.unshift(...removeContainerEbtables(tools.ebtables.ebtables, m.id, m.veth));
  } else if (!bridgeExists()) {
    logger.warn("ebtables is missing: containers on the bridge are not kept from sending as one another or from sending router advertisements");
  }
  return undo;
}

/** Runs removal commands, quietly: what is already gone is fine. */
export function runQuietly(commands: string[][]): void {
  for (const argv of commands) sh(argv);
}

/**
 * The commands that remove a container's rules, for each firewall that may hold them (the one
 * its record names, or every one present when there is no record).
 */
export function containerRemoval(tools: Tools, kinds: FirewallKind[], m: { id: string; veth: string; publish: boolean }): string[][] {
  const out: string[][] = [];
  for (const kind of kinds) {
    if (kind === "nft" && tools.nft) out.push(...removeContainerNft(tools.nft, m.id, m.publish));
    if (kind === "iptables" && tools.iptables) {
      if (tools.ebtables) out.push(...removeContainerEbtables(tools.ebtables.ebtables, m.id, m.veth));
      if (m.publish) out.push(...removeContainerIptables(tools.iptables.iptables, m.id));
    }
  }
  return out;
}

/**
 * Everything box added to any firewall present: nftables tables `box` and `box-ID`, iptables and
 * ebtables chains BOX-* with the jumps to them, and what earlier versions appended to built-in
 * chains. Nothing else is touched. Used by network prune, once no container is on the bridge.
 * Each firewall is tried even when another failed; the failures are returned, as sentences.
 */
export function removeEverything(layout: Layout, tools: Tools, config: BridgeConfig | undefined): string[] {
  const failed: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      failed.push((err as Error).message);
    }
  };
  const nft = tools.nft;
  if (nft) {
    attempt(() => {
      const tables = boxTables(must([nft, "list", "tables"], undefined, "list the nftables tables"));
      if (tables.length) must([nft, "-f", "-"], tables.map((t) => `delete table ${t.family} ${t.name}\n`).join(""), "remove box's nftables tables");
    });
  }
  const ipt = tools.iptables;
  if (ipt) {
    attempt(() => {
      const script = iptablesRemoval(must([ipt.save], undefined, "read the iptables rules"), config);
      if (script) must([ipt.restore, "--noflush"], script, "remove box's iptables rules");
    });
  }
  const ebt = tools.ebtables;
  if (ebt) {
    attempt(() => {
      const script = ebtablesRemoval(must([ebt.save], undefined, "read the ebtables rules"));
      if (script) must([ebt.restore, "--noflush"], script, "remove box's ebtables rules");
    });
  }
  if (failed.length === 0) rmSync(iptablesNote(layout), { force: true });
  return failed;
}
