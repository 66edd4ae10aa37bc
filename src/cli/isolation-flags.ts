/**
 * The options that decide a container's namespaces beyond docker's defaults: its network as a
 * rootless user gets it (src/net/usermode.ts), --userns (root: auto gives the container a range of
 * ids of its own, src/userns/auto.ts) and --time-ns (a time namespace, and whether its clocks count
 * from the container's start). Checked before anything is made.
 */
import { BoxError } from "../errors";
import type { NetworkMode } from "../net/setup";
import { rootlessNetwork } from "../net/usermode";
import { checkNetwork } from "../spec/options";
import { isRootless } from "../userns/ids";
import { haveTimeNamespaces } from "../userns/kernel";

export type TimeNs = "private" | "from-start" | "host";

export interface Isolation {
  network: NetworkMode;
  /** Said once: why a rootless container has loopback only. */
  networkNote?: string;
  userns?: "auto";
  timeNs: TimeNs;
}

export function checkIsolation(
  o: { network?: string; userns?: string; timeNs?: string; publishing?: "-p" | "-P"; hostNamespaces: readonly string[] },
  env: Record<string, string | undefined> = process.env,
  rootless = isRootless(),
): Isolation {
  const asked = o.network ?? (env.BOX_NETWORK || undefined);
  let network = checkNetwork(asked, {});
  let networkNote: string | undefined;
  if (rootless) {
    const choice = rootlessNetwork(asked !== undefined ? network : undefined, o.publishing !== undefined);
    network = choice.mode;
    networkNote = choice.note;
    if (o.publishing && network !== "pasta" && network !== "slirp4netns") throw new BoxError(`${o.publishing} needs --network pasta or slirp4netns: only such a rootless container has ports to publish`);
  } else if (network === "pasta" || network === "slirp4netns") {
    throw new BoxError(`--network ${network} is for rootless containers: as root, the bridge (the default) gives a container its way out`);
  } else if (o.publishing && network !== "bridge") {
    throw new BoxError(`${o.publishing} needs --network bridge: only a bridged container has ports to publish`);
  }
  const userns = o.userns ?? (env.BOX_USERNS || undefined);
  if (userns !== undefined && userns !== "auto" && userns !== "host") throw new BoxError(`invalid --userns "${userns.slice(0, 32)}": use auto (ids of the container's own) or host`);
  if (rootless && userns !== undefined) throw new BoxError("--userns is for root: a rootless container always has a user namespace, mapping your own ids");
  const own = rootless || userns === "auto";
  for (const ns of ["pid", "ipc"]) {
    if (own && o.hostNamespaces.includes(ns)) throw new BoxError(`--${ns} host cannot go with a user namespace of the container's (${rootless ? "rootless" : "--userns=auto"}): it may not mount the host's ${ns === "pid" ? "/proc" : "/dev/mqueue"}`);
  }
  const timeNs = o.timeNs ?? "private";
  if (timeNs !== "private" && timeNs !== "from-start" && timeNs !== "host") throw new BoxError(`invalid --time-ns "${timeNs.slice(0, 32)}": use private, from-start or host`);
  if (timeNs === "from-start" && !haveTimeNamespaces()) throw new BoxError("--time-ns from-start needs time namespaces, which this kernel does not have (Linux 5.6 or later)");
  return { network, ...(networkNote ? { networkNote } : {}), ...(userns === "auto" ? { userns: "auto" as const } : {}), timeNs };
}
