/**
 * -P: every port the image exposes, published on a free host port each (as docker: chosen when
 * the container starts, from the kernel's ephemeral range). Ports published with -p stay as given.
 */
import { createServer } from "node:net";
import type { Layout } from "../store/layout";
import type { Publish } from "../net/ports";
import type { ContainerRecord } from "../store/containers";

/**
 * The ports an image's config exposes (its ExposedPorts: "80/tcp"). The images of this store carry
 * no config yet (the embedded Alpine and imported root filesystems expose nothing); the image
 * store's config reader plugs in here.
 */
export function exposedPorts(_layout: Layout, _r: ContainerRecord): Array<{ port: number; proto: "tcp" | "udp" }> {
  return [];
}

/** A port the kernel says is free now (the claim made when the container starts checks it again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
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
