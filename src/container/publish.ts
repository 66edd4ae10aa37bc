/**
 * -P: every port the image exposes, published on a free host port each (as docker: chosen when
 * the container starts, from the kernel's ephemeral range). Ports published with -p stay as given.
 */
import { peekStore, readImageConfig } from "../image/store";
import { imageIdsOf } from "../image/users";
import type { Layout } from "../store/layout";
import type { Publish } from "../net/ports";
import type { ContainerRecord } from "../store/containers";

/** The ports the container's image exposes (its config's ExposedPorts: "80/tcp", "53/udp"). */
export function exposedPorts(layout: Layout, r: ContainerRecord): Array<{ port: number; proto: "tcp" | "udp" }> {
  if (!r.imageId) return [];
  const p = peekStore(layout);
  const out: Array<{ port: number; proto: "tcp" | "udp" }> = [];
  for (const id of imageIdsOf(p, [r.imageId])) {
    for (const key of Object.keys(readImageConfig(p, id)?.config.ExposedPorts ?? {})) {
      const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(key);
      if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) out.push({ port: Number(m[1]), proto: (m[2] ?? "tcp") as "tcp" | "udp" });
    }
  }
  return out;
}

/** A port the kernel says is free now (the claim made when the container starts checks it again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const { createServer } = require("node:net") as typeof import("node:net"); // lazily: see src/sys/terminal.ts
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function portsToPublish(layout: Layout, r: ContainerRecord): Promise<Publish[]> {
  const req = r.request!;
  if (!req.publishAll) return req.publish;
  const out = [...req.publish];
  for (const e of exposedPorts(layout, r)) {
    if (out.some((p) => p.containerPort === e.port && p.proto === e.proto)) continue;
    out.push({ hostPort: await freePort(), containerPort: e.port, proto: e.proto });
  }
  return out;
}
