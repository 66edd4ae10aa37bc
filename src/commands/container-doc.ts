/**
 * `box inspect CONTAINER`: docker's container document (ContainerJSON), with docker's keys in
 * docker's order, filled from the container's record (what was asked: RunRequest), its spec (what
 * its last start made) and its state now. Fields docker has and box has no notion of are there with
 * docker's empty values, so scripts that read them find what docker gives.
 */
import { join } from "node:path";
import { goMap } from "../cli/template";
import { restartCount } from "../container/restart";
import { inspectMounts } from "../container/volumes";
import { DEFAULT_CAPABILITIES } from "../spec/capabilities";
import { containerDir, logPath, type ContainerRecord } from "../store/containers";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import type { Facts } from "./container-rows";
import { publishedPorts } from "./container-rows";
import { readSpec } from "../store/container-spec";

const ZERO_TIME = "0001-01-01T00:00:00Z";

type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }>>;

function portMap(ports: ReadonlyArray<{ hostIp?: string; hostPort: number; containerPort: number; proto: string }>): PortMap {
  const map: PortMap = {};
  for (const p of ports) (map[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp ?? "0.0.0.0", HostPort: String(p.hostPort) });
  return map;
}

/** What the image gives by default (its config), for Config.Entrypoint, Cmd and ExposedPorts. */
export interface ImageDefaults {
  Entrypoint?: string[];
  Cmd?: string[];
  ExposedPorts?: Record<string, Record<string, never>>;
}

export function containerDoc(layout: Layout, c: ContainerRecord, f: Facts, image: ImageDefaults = {}) {
  const req = c.request;
  const spec = readSpec(layout, c);
  const dir = containerDir(layout, c.id);
  const running = f.status === "running";
  const caps = req?.security.capabilities ?? spec?.process.capabilities.bounding ?? [];
  const privileged = req?.security.privileged ?? false;
  const shared = req?.hostNamespaces ?? [];
  const network = req?.network ?? "none";
  const net = spec?.box.network;
  const ip = running ? (c.ports?.ip ?? "") : "";
  const gateway = running && net ? net.gateway : "";
  const prefix = running && net ? Number(net.addressCidr.split("/")[1] ?? 0) : 0;
  const env = spec?.process.env ?? req?.env ?? [];
  const securityOpt = req ? [...(!req.security.seccomp && !privileged ? ["seccomp=unconfined"] : []), ...(!req.security.noNewPrivileges ? ["no-new-privileges=false"] : []), ...(!req.security.systemPaths && !privileged ? ["systempaths=unconfined"] : [])] : [];
  const root = spec?.box.rootfs;
  return {
    Id: c.id,
    Created: c.created,
    Path: c.argv[0] ?? "",
    Args: c.argv.slice(1),
    State: {
      Status: f.status,
      Running: running,
      Paused: false,
      Restarting: f.status === "restarting",
      OOMKilled: f.oomKilled,
      Dead: f.status === "dead",
      Pid: f.pid,
      ExitCode: running ? 0 : (f.exitCode ?? 0),
      Error: f.status === "dead" ? "its supervisor ended without recording how the container ended (killed, or a reboot)" : "",
      StartedAt: c.startedAt ?? ZERO_TIME,
      FinishedAt: running ? ZERO_TIME : (f.finished ?? ZERO_TIME),
    },
    Image: c.imageId ? (c.imageId.startsWith("sha256:") ? c.imageId : `sha256:${c.imageId}`) : "",
    ResolvConfPath: join(dir, "resolv.conf"),
    HostnamePath: join(dir, "hostname"),
    HostsPath: join(dir, "hosts"),
    LogPath: c.detached ? logPath(layout, c.id) : "",
    Name: `/${c.name ?? ""}`,
    RestartCount: restartCount(layout, c.id),
    Driver: root?.kind === "bind" || req?.image.kind === "directory" ? "bind" : "overlay",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: req?.cidfile ?? "",
      LogConfig: { Type: c.detached ? "k8s-file" : "none", Config: {} },
      NetworkMode: network,
      PortBindings: portMap(req?.publish ?? []),
      RestartPolicy: { Name: req?.restart?.name ?? "no", MaximumRetryCount: req?.restart?.maximumRetryCount ?? 0 },
      AutoRemove: c.autoRemove,
      CapAdd: privileged ? null : caps.filter((x) => !(DEFAULT_CAPABILITIES as readonly string[]).includes(x)),
      CapDrop: privileged ? null : DEFAULT_CAPABILITIES.filter((x) => !caps.includes(x)),
      Dns: req?.dns ?? [],
      DnsOptions: req?.dnsOptions ?? [],
      DnsSearch: req?.dnsSearch ?? [],
      ExtraHosts: (req?.extraHosts ?? []).map((h) => `${h.host}:${h.ip}`),
      IpcMode: shared.includes("ipc") ? "host" : "private",
      PidMode: shared.includes("pid") ? "host" : "",
      UTSMode: shared.includes("uts") ? "host" : "",
      Privileged: privileged,
      PublishAllPorts: req?.publishAll ?? false,
      ReadonlyRootfs: req?.readOnly === true,
      ShmSize: req?.shmSize ?? 64 << 20,
      SecurityOpt: securityOpt.length > 0 ? securityOpt : null,
      CgroupParent: req?.cgroupParent ?? "",
      CpuShares: req?.limits.cpuShares ?? 0,
      Memory: req?.limits.memory ?? 0,
      MemorySwap: req?.limits.memorySwap ?? 0,
      NanoCpus: req?.limits.cpus !== undefined ? Math.round(req.limits.cpus * 1e9) : 0,
      PidsLimit: req?.limits.pids ? req.limits.pids : null,
      Devices: (req?.devices ?? []).map((d) => ({ PathOnHost: d.host, PathInContainer: d.container, CgroupPermissions: d.permissions })),
      Ulimits: (req?.ulimits ?? []).map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })),
      Sysctls: goMap(req?.sysctls ?? {}),
      Init: req?.init ? true : null,
    },
    GraphDriver: {
      Name: root?.kind === "bind" ? "bind" : "overlay",
      Data: root?.kind === "overlay" ? { LowerDir: root.lowers.join(":"), MergedDir: root.merged, UpperDir: root.upper, WorkDir: root.work } : root ? { MergedDir: root.path } : null,
    },
    Mounts: inspectMounts(layout, c),
    Config: {
      Hostname: spec?.hostname ?? req?.hostname ?? shortId(c.id),
      Domainname: "",
      User: req?.user ?? "",
      AttachStdin: (req?.interactive ?? false) && !c.detached,
      AttachStdout: !c.detached,
      AttachStderr: !c.detached,
      Tty: req?.tty ?? false,
      OpenStdin: req?.interactive ?? false,
      StdinOnce: (req?.interactive ?? false) && !c.detached,
      Env: env,
      ...(image.ExposedPorts ? { ExposedPorts: image.ExposedPorts } : {}),
      // docker's split: the command line's words (or the image's CMD), and the entrypoint before them.
      Cmd: req && req.command.length > 0 ? req.command : (image.Cmd ?? (req?.entrypoint !== undefined || image.Entrypoint ? null : c.argv)),
      Image: c.image,
      Volumes: null,
      WorkingDir: req?.workdir ?? "",
      Entrypoint: req?.entrypoint !== undefined ? (req.entrypoint ? [req.entrypoint] : null) : (image.Entrypoint ?? null),
      OnBuild: null,
      Labels: goMap(req?.labels ?? {}),
      ...(req?.stopSignal ? { StopSignal: req.stopSignal } : {}),
      ...(req?.stopTimeout !== undefined ? { StopTimeout: req.stopTimeout } : {}),
    },
    NetworkSettings: {
      Bridge: "",
      SandboxID: "",
      SandboxKey: running && f.pid ? `/proc/${f.pid}/ns/net` : "",
      Ports: portMap(publishedPorts(c, f.status)),
      Gateway: gateway,
      IPAddress: ip,
      IPPrefixLen: prefix,
      MacAddress: "",
      Networks: goMap({ [network]: { IPAddress: ip, IPPrefixLen: prefix, Gateway: gateway, MacAddress: "", NetworkID: network, EndpointID: "" } }),
    },
  };
}

export type ContainerDoc = ReturnType<typeof containerDoc>;
