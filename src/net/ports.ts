import { join } from "node:path";
import { BoxError } from "../errors";
import { claim, listClaims, reclaimIfDead, release, withDirLock } from "../store/claim";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { IPV4 } from "./bridge";

/** -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], as docker writes it. No hostIp: every address. */
export interface Publish {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  proto: "tcp" | "udp";
}

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
  // 0.0.0.0 means every address, as in docker (a rule for that address would match nothing).
  const all = hostIp === undefined || hostIp === "0.0.0.0";
  return { ...(all ? {} : { hostIp }), hostPort: port(hp), containerPort: port(cp), proto: proto as "tcp" | "udp" };
}

/** A Publish as read back from a container's record; undefined when it is not one. */
export function checkPublish(v: unknown): Publish | undefined {
  if (!v || typeof v !== "object") return undefined;
  const p = v as Record<string, unknown>;
  const port = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!port(p.hostPort) || !port(p.containerPort) || (p.proto !== "tcp" && p.proto !== "udp")) return undefined;
  if (p.hostIp !== undefined && (typeof p.hostIp !== "string" || !IPV4.test(p.hostIp))) return undefined;
  return { ...(p.hostIp && p.hostIp !== "0.0.0.0" ? { hostIp: p.hostIp as string } : {}), hostPort: p.hostPort as number, containerPort: p.containerPort as number, proto: p.proto };
}

/** Whether the address belongs to the loopback network (published for the host alone). */
export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && ip.startsWith("127.");
}

export function portDir(layout: Layout): string {
  return join(layout.lib, "network", "ports");
}

export function portLeasePath(layout: Layout, p: Publish): string {
  return join(portDir(layout), `${p.proto}-${p.hostPort}`);
}

/** Whether something on the host already listens there (the kernel's word, not a guess). */
async function bindable(p: Publish): Promise<"free" | "in use" | "not local"> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRNOTAVAIL" ? "not local" : "in use");
    if (p.proto === "udp") {
      const { createSocket } = require("node:dgram") as typeof import("node:dgram"); // lazily: see src/sys/terminal.ts
      const s = createSocket("udp4");
      s.once("error", failed);
      s.bind(p.hostPort, p.hostIp ?? "0.0.0.0", () => s.close(() => resolve("free")));
      return;
    }
    const { createServer } = require("node:net") as typeof import("node:net");
    const srv = createServer();
    srv.once("error", failed);
    srv.listen({ port: p.hostPort, host: p.hostIp ?? "0.0.0.0", exclusive: true }, () => srv.close(() => resolve("free")));
  });
}

const holderIsId = (holder: string) => /^[0-9a-f]{64}$/.test(holder);

/**
 * Claims the host ports: each by a claim (so two containers cannot publish one port), and each
 * checked free on the host. Refuses, naming the port, before the container starts. The claims are
 * made under the ports' lock, where route_localnet is also judged (see setup.ts): a port claimed
 * is always seen by a box deciding whether the loopback route is still needed.
 */
export async function claimPorts(layout: Layout, id: string, publish: readonly Publish[], exists: (id: string) => boolean): Promise<string[]> {
  const alive = (holder: string) => holderIsId(holder) && exists(holder);
  const claimed: string[] = [];
  try {
    withDirLock(portDir(layout), () => {
      for (const p of publish) {
        const path = portLeasePath(layout, p);
        const r = claim(path, id, alive, true);
        if (!r.ok) {
          throw new BoxError(r.holder === id
            ? `port ${p.hostPort}/${p.proto} is given twice`
            : `port ${p.hostPort}/${p.proto} is already published by container ${shortId(r.holder)}`);
        }
        claimed.push(path);
      }
    });
    for (const p of publish) {
      const state = await bindable(p);
      if (state === "in use") throw new BoxError(`port ${p.hostPort}/${p.proto} is already in use on the host`);
      if (state === "not local") throw new BoxError(`cannot publish on ${p.hostIp}: it is not an address of this host`);
    }
    return claimed;
  } catch (err) {
    for (const c of claimed) release(c, id);
    throw err;
  }
}

/** The holders of every host port claim (damaged ones left out). */
export function portHolders(layout: Layout): string[] {
  return listClaims(portDir(layout)).flatMap((c) => (c.holder === "damaged" ? [] : [c.holder]));
}

export function releasePorts(layout: Layout, id: string, locked = false): void {
  for (const c of listClaims(portDir(layout))) if (c.holder === id) release(join(portDir(layout), c.name), id, locked);
}

/**
 * Host ports published by containers that still exist; dead and damaged claims are taken back.
 * locked: the caller holds the ports' lock (withDirLock(portDir(layout), ...)).
 */
export function livePortClaims(layout: Layout, exists: (id: string) => boolean, locked = false): string[] {
  const alive = (holder: string) => holderIsId(holder) && exists(holder);
  return listClaims(portDir(layout)).filter((c) => {
    if (c.holder !== "damaged" && alive(c.holder)) return true;
    reclaimIfDead(join(portDir(layout), c.name), alive, locked);
    return false;
  }).map((c) => c.name);
}
