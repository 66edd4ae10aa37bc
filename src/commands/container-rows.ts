/**
 * A container as docker's listings show it: the fields of `docker ps --format` (ID, Image,
 * Command, CreatedAt, RunningFor, Ports, State, Status, Size, Names, Labels, Mounts, Networks,
 * LocalVolumes), with docker's texts ("Up 3 seconds", "Exited (0) 2 minutes ago",
 * "0.0.0.0:8080->80/tcp"), and the facts behind them for the other commands.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { exitInfo, live, statusOf, type Status } from "../container/state";
import type { Publish } from "../net/ports";
import { containerDir, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { humanDuration } from "../human";

export interface Facts {
  status: Status;
  /** The host pid of the container's PID 1 (box's init), while it runs. */
  pid: number;
  exitCode?: number;
  oomKilled: boolean;
  finished?: string;
  statusText: string;
}

/** What a container is doing now, and docker's sentence for it. */
export function facts(layout: Layout, c: ContainerRecord): Facts {
  const status = statusOf(layout, c);
  const exit = exitInfo(layout, c.id);
  const running = status === "running" ? live(layout, c.id) : undefined;
  let text: string;
  if (status === "running") text = `Up ${humanDuration(Date.now() - Date.parse(c.startedAt ?? c.created))}`;
  else if (status === "exited" && exit) text = `Exited (${exit.status}) ${humanDuration(Date.now() - exit.finished.getTime())} ago`;
  else if (status === "restarting" && exit) text = `Restarting (${exit.status}) ${humanDuration(Date.now() - exit.finished.getTime())} ago`;
  else if (status === "created") text = "Created";
  else if (status === "removing") text = "Removal In Progress";
  else text = "Dead";
  return { status, pid: running?.init ?? 0, exitCode: exit?.status, oomKilled: exit?.oomKilled ?? false, finished: exit?.finished.toISOString(), statusText: text };
}

/** Go's time.Time String(), as docker prints CreatedAt: "2026-11-29 05:50:12 +0000 UTC". */
export function goTime(iso: string): string {
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " +0000 UTC");
}

/** Sizes as docker prints them: decimal units, three significant digits (8.09MB, 12B). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes, i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** Bytes of the files under a directory (not following links, not crossing into other mounts' trees). */
export function dirSize(dir: string): number {
  let total = 0;
  const walk = (d: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      try {
        const st = lstatSync(join(d, e));
        if (st.isDirectory() && depth < 64) walk(join(d, e), depth + 1);
        else if (st.isFile()) total += st.size;
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(dir, 0);
  return total;
}

/** "0.0.0.0:8080->80/tcp, 127.0.0.1:53->53/udp" */
export function portsText(ports: readonly Publish[]): string {
  return ports.map((p) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(", ");
}

/** The ports a container publishes: while it runs, the ones it holds; otherwise none (as docker). */
export function publishedPorts(c: ContainerRecord, status: Status): Publish[] {
  if (status !== "running") return [];
  return c.ports?.publish ?? c.request?.publish ?? [];
}

/** docker's Command column: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
function commandText(argv: readonly string[], noTrunc: boolean): string {
  const cmd = argv.join(" ");
  return `"${noTrunc || [...cmd].length <= 20 ? cmd : [...cmd].slice(0, 19).join("") + "…"}"`;
}

export interface PsRow {
  Command: string;
  CreatedAt: string;
  ID: string;
  Image: string;
  Labels: string;
  LocalVolumes: string;
  Mounts: string;
  Names: string;
  Networks: string;
  Ports: string;
  RunningFor: string;
  Size: string;
  State: Status;
  Status: string;
}

/** One row of box ps, in docker's field order (that of `docker ps --format json`). */
export function psRow(layout: Layout, c: ContainerRecord, f: Facts, opts: { noTrunc: boolean; size: boolean; imageSize?: number }): PsRow {
  const labels = c.request?.labels ?? {};
  let size = "0B";
  if (opts.size) {
    const rw = dirSize(join(containerDir(layout, c.id), "upper"));
    size = `${humanSize(rw)} (virtual ${humanSize(rw + (opts.imageSize ?? 0))})`;
  }
  return {
    Command: commandText(c.argv, opts.noTrunc),
    CreatedAt: goTime(c.created),
    ID: opts.noTrunc ? c.id : shortId(c.id),
    Image: c.image,
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(","),
    LocalVolumes: "0",
    Mounts: "",
    Names: c.name ?? "",
    Networks: c.request?.network ?? "none",
    Ports: portsText(publishedPorts(c, f.status)),
    RunningFor: `${humanDuration(Date.now() - Date.parse(c.created))} ago`,
    Size: size,
    State: f.status,
    Status: f.statusText,
  };
}

export const PS_HEADERS: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Names: "NAMES",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  Networks: "NETWORKS",
  LocalVolumes: "LOCAL VOLUMES",
};

export const PS_TABLE = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
