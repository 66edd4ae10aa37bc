import { readFileSync, unlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { BoxError } from "../errors";
import { listDir } from "../store/dirs";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";

/** -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], as docker writes it. */
export interface Publish {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  proto: "tcp" | "udp";
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function parsePublish(text: string): Publish {
  const bad = () => new BoxError(`invalid -p "${text}": use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`);
  const [spec = "", proto = "tcp", ...more] = text.split("/");
  if (more.length || (proto !== "tcp" && proto !== "udp")) throw bad();
  const parts = spec.split(":");
  if (parts.length < 2 || parts.length > 3) throw bad();
  const [hostIp, hp, cp] = parts.length === 3 ? parts : [undefined, ...parts];
  if (hostIp !== undefined && !IPV4.test(hostIp)) throw bad();
  const port = (p: string | undefined) => {
    if (!p || !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw bad();
    return Number(p);
  };
  return { hostIp, hostPort: port(hp), containerPort: port(cp), proto: proto as "tcp" | "udp" };
}

function portDir(layout: Layout): string {
  return join(layout.lib, "network", "ports");
}

export function portLeasePath(layout: Layout, p: Publish): string {
  return join(portDir(layout), `${p.proto}-${p.hostPort}`);
}

/** Whether something on the host already listens there (the kernel's word, not a guess). */
async function inUse(p: Publish): Promise<boolean> {
  return new Promise((resolve) => {
    if (p.proto === "udp") {
      const s = createSocket("udp4");
      s.once("error", () => resolve(true));
      s.bind(p.hostPort, p.hostIp ?? "0.0.0.0", () => s.close(() => resolve(false)));
      return;
    }
    const srv = createServer();
    srv.once("error", () => resolve(true));
    srv.listen({ port: p.hostPort, host: p.hostIp ?? "0.0.0.0", exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/**
 * Claims the host ports: each by a file created exclusively (so two containers cannot publish one
 * port), and each checked free on the host. Refuses, naming the port, before the container starts.
 */
export async function claimPorts(layout: Layout, id: string, publish: readonly Publish[], exists: (id: string) => boolean): Promise<string[]> {
  mkdirSync(portDir(layout), { recursive: true, mode: 0o700 });
  const claimed: string[] = [];
  try {
    for (const p of publish) {
      const path = portLeasePath(layout, p);
      for (;;) {
        try {
          writeFileSync(path, id, { flag: "wx" });
          claimed.push(path);
          break;
        } catch {
          const holder = readFileSync(path, "utf8").trim();
          if (exists(holder)) throw new BoxError(`port ${p.hostPort}/${p.proto} is already published by container ${shortId(holder)}`);
          unlinkSync(path); // its container is gone
        }
      }
      if (await inUse(p)) throw new BoxError(`port ${p.hostPort}/${p.proto} is already in use on the host`);
    }
    return claimed;
  } catch (err) {
    for (const c of claimed) unlinkSync(c);
    throw err;
  }
}

export function releasePorts(layout: Layout, id: string): void {
  for (const f of listDir(portDir(layout))) {
    const path = join(portDir(layout), f);
    try {
      if (readFileSync(path, "utf8").trim() === id) unlinkSync(path);
    } catch {
      /* gone */
    }
  }
}

/** The container's own nftables table: DNAT from the host ports (also for the host's own
 * connections, 127.0.0.1 included), and masquerade for those that come from loopback. */
export function portTable(table: string, containerIp: string, publish: readonly Publish[]): string {
  const match = (p: Publish) => `${p.hostIp ? `ip daddr ${p.hostIp} ` : ""}${p.proto} dport ${p.hostPort} dnat to ${containerIp}:${p.containerPort}`;
  return [
    `table ip ${table} {`,
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...publish.map((p) => `    fib daddr type local ${match(p)}`),
    "  }",
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    ...publish.map((p) => `    fib daddr type local ${match(p)}`),
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr 127.0.0.0/8 ip daddr ${containerIp} masquerade`,
    "  }",
    "}",
  ].join("\n") + "\n";
}
