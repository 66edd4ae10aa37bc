import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../logger";
import type { Layout } from "../store/layout";
import { withLock } from "../store/lock";
import { bridgeExists, type BridgeConfig } from "./bridge";

const SBIN = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";

function sh(argv: string[], stdin?: string): { code: number; stderr: string } {
  const r = Bun.spawnSync(argv, { stdin: stdin !== undefined ? Buffer.from(stdin) : "ignore", stdout: "ignore", stderr: "pipe", env: { PATH: SBIN } });
  return { code: r.exitCode, stderr: r.stderr.toString() };
}

/** nftables' ruleset for the bridge: masquerade what leaves it, let its traffic be forwarded. */
export function nftRules(config: BridgeConfig): string {
  return [
    "table ip box {",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${config.subnet} oifname != "${config.name}" masquerade`,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    `    iifname "${config.name}" accept`,
    `    oifname "${config.name}" ct state established,related accept`,
    "  }",
    "}",
  ].join("\n") + "\n";
}

/**
 * Outbound access for containers on the bridge: IP forwarding on (only now that a bridge is used),
 * and their traffic masqueraded, with nftables when present, else iptables. With neither, box says
 * that containers get no outbound access and goes on. Done once, under a lock.
 */
export async function ensureOutbound(layout: Layout, config: BridgeConfig): Promise<"nft" | "iptables" | "none" | "ready"> {
  // The bridge exists only once a box before this one got this far: nothing left to do.
  if (bridgeExists()) return "ready";
  return withLock(join(layout.locks, "network.lock"), async () => {
    try {
      if (readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() !== "1") writeFileSync("/proc/sys/net/ipv4/ip_forward", "1");
    } catch {
      logger.warn("cannot enable IP forwarding: containers on the bridge get no outbound access");
    }
    if (Bun.which("nft", { PATH: SBIN })) {
      if (sh(["nft", "list", "table", "ip", "box"]).code !== 0) {
        const r = sh(["nft", "-f", "-"], nftRules(config));
        if (r.code !== 0) logger.warn(`cannot add box's nftables rules: ${r.stderr.trim()}`);
      }
      return "nft";
    }
    if (Bun.which("iptables", { PATH: SBIN })) {
      const rule = ["POSTROUTING", "-s", config.subnet, "!", "-o", config.name, "-j", "MASQUERADE"];
      if (sh(["iptables", "-t", "nat", "-C", ...rule]).code !== 0) sh(["iptables", "-t", "nat", "-A", ...rule]);
      for (const fwd of [["FORWARD", "-i", config.name, "-j", "ACCEPT"], ["FORWARD", "-o", config.name, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]]) {
        if (sh(["iptables", "-C", ...fwd]).code !== 0) sh(["iptables", "-A", ...fwd]);
      }
      return "iptables";
    }
    logger.warn("neither nft nor iptables is installed: containers on the bridge get no outbound access");
    return "none";
  });
}
