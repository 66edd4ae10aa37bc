/**
 * A rootless container's network. The bridge needs root (a veth on the host, NAT in its firewall),
 * so a container of a user's gets one of:
 *   pasta        (Debian's passt) gives the container's namespace a tap interface copying the
 *                host's address and routes, and carries its traffic through the user's own sockets;
 *                -p binds the host port and forwards it in
 *   slirp4netns  the older way: a tap interface on 10.0.2.0/24 with a user-mode TCP/IP stack behind
 *                it; -p through its API socket (add_hostfwd)
 *   none         loopback only
 * chosen in that order when none is named (--network, BOX_NETWORK). Both tools open /dev/net/tun
 * as the user: a host whose /dev/net/tun only root may open gets none, and a sentence if one was
 * asked for. Neither reaches the host's loopback (pasta --no-map-gw, slirp4netns
 * --disable-host-loopback): a rootless container, like a bridged one, cannot reach services the
 * host binds to 127.0.0.1 (CVE-2020-8558). The helper starts the tool and stops it
 * (helper/nettool.c); this file only writes its command line.
 */
import { accessSync, constants } from "node:fs";
import { BoxError } from "../errors";
import type { Publish } from "./ports";
import type { NetworkMode } from "./setup";

export type UserNetwork = "pasta" | "slirp4netns";

const DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"];

export function findUserTool(name: UserNetwork): string | undefined {
  for (const dir of DIRS) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      /* not there */
    }
  }
  return undefined;
}

/** Whether this user may open /dev/net/tun (where the tools' interface comes from). */
export function tunUsable(): boolean {
  try {
    accessSync("/dev/net/tun", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export interface NetworkChoice {
  mode: NetworkMode;
  /** Said once when the automatic choice fell back to none. */
  note?: string;
}

/**
 * The network of a rootless container: the one asked for, checked, or the best there is.
 * asked is undefined when neither --network nor BOX_NETWORK names one.
 */
export function rootlessNetwork(asked: NetworkMode | undefined, publishing: boolean): NetworkChoice {
  if (asked === "bridge") throw new BoxError("the bridge network needs root: a rootless container gets --network pasta or slirp4netns (user-mode networking), or none");
  if (asked === "none" || asked === "host") return { mode: asked };
  const tun = tunUsable();
  if (asked === "pasta" || asked === "slirp4netns") {
    const pkg = asked === "pasta" ? "passt" : "slirp4netns";
    if (!findUserTool(asked)) throw new BoxError(`--network ${asked} needs ${asked}, which is not installed (Debian's ${pkg} package)`);
    if (!tun) throw new BoxError(`--network ${asked} needs /dev/net/tun, which you cannot open here: an admin can allow it (chmod 0666 /dev/net/tun, the usual mode)`);
    return { mode: asked };
  }
  const found = (["pasta", "slirp4netns"] as const).find((t) => findUserTool(t));
  if (found && tun) return { mode: found };
  const why = found ? "/dev/net/tun is not open to users here (chmod 0666 /dev/net/tun allows it)" : "neither pasta (Debian's passt) nor slirp4netns is installed";
  if (publishing) throw new BoxError(`-p needs outbound networking, and ${why}`);
  return { mode: "none", note: `rootless containers get loopback only: ${why}` };
}

export interface ToolLine {
  argv: string[];
  apiSocket?: string;
  requests?: string[];
}

/** pasta's port list for one protocol: "none", or "[ADDR/]HOST:CONTAINER,...". */
function pastaPorts(publish: readonly Publish[], proto: "tcp" | "udp"): string {
  const list = publish.filter((p) => p.proto === proto).map((p) => `${p.hostIp && p.hostIp !== "0.0.0.0" ? `${p.hostIp}/` : ""}${p.hostPort}:${p.containerPort}`);
  return list.length > 0 ? list.join(",") : "none";
}

/**
 * The tool's command line; "{pid}" is the container's first process (the helper puts its pid
 * there). It reports ready on fd 3.
 */
export function toolLine(mode: UserNetwork, publish: readonly Publish[], apiSocket: string): ToolLine {
  const program = findUserTool(mode);
  if (!program) throw new BoxError(`--network ${mode} needs ${mode}, which is not installed`);
  if (mode === "pasta") {
    return {
      argv: [program, "--config-net", "--quiet", "--foreground", "--pid", "/proc/self/fd/3", "--no-map-gw", "-t", pastaPorts(publish, "tcp"), "-u", pastaPorts(publish, "udp"), "-T", "none", "-U", "none", "{pid}"],
    };
  }
  if (publish.length > 0 && Buffer.byteLength(apiSocket) >= 108) throw new BoxError(`-p with slirp4netns needs a socket path shorter than 108 bytes, and ${apiSocket} is longer: use --network pasta, or a shorter XDG_RUNTIME_DIR`);
  const requests = publish.map((p) =>
    JSON.stringify({ execute: "add_hostfwd", arguments: { proto: p.proto, host_addr: p.hostIp ?? "0.0.0.0", host_port: p.hostPort, guest_port: p.containerPort } }),
  );
  return {
    argv: [program, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3", ...(publish.length > 0 ? ["--api-socket", apiSocket] : []), "{pid}", "tap0"],
    ...(publish.length > 0 ? { apiSocket, requests } : {}),
  };
}
