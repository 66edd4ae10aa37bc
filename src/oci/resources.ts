/**
 * linux.resources written into the container's cgroups, for create and for update. Each field goes
 * to the file of its controller, converted as runc converts it for cgroup v2 (shares to weight,
 * blkio weight to io.weight, swap as memory+swap on v1 and swap alone on v2). A limit whose
 * controller or file the host lacks is refused by name, never left out; a write the kernel refuses
 * names the file and the value.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../errors";
import type { ContainerCgroups, HostCgroups } from "./cgroups";
import { ruleText } from "./devices";
import type { BlockIO, DeviceRule, Resources } from "./resources-config";

function write(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  if (!existsSync(path)) throw new BoxError(`cannot set ${file}: this host's cgroups have no such file (${path})`, 1);
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw new BoxError(`cannot set ${file} to ${value.trim()}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
  }
}

/** The container's directory in the v1 hierarchy holding a controller. */
function v1Dir(host: HostCgroups, cg: ContainerCgroups, controller: string, field: string): string {
  const i = host.hierarchies.findIndex((h) => h.controllers.includes(controller));
  if (i < 0) throw new BoxError(`${field} needs the ${controller} cgroup controller, which this host does not have`, 1);
  return cg.dirs[i]!;
}

const dev = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

function v1BlockIO(dir: string, b: BlockIO): void {
  if (b.weight !== undefined) write(dir, existsSync(join(dir, "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight", String(b.weight));
  if (b.leafWeight !== undefined) write(dir, "blkio.leaf_weight", String(b.leafWeight));
  for (const d of b.weightDevice ?? []) {
    if (d.weight !== undefined) write(dir, "blkio.weight_device", `${dev(d)} ${d.weight}`);
    if (d.leafWeight !== undefined) write(dir, "blkio.leaf_weight_device", `${dev(d)} ${d.leafWeight}`);
  }
  const throttles: Array<[keyof BlockIO, string]> = [
    ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"], ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
    ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"], ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
  ];
  for (const [field, file] of throttles) for (const d of (b[field] ?? []) as Array<{ major: number; minor: number; rate: number }>) write(dir, file, `${dev(d)} ${d.rate}`);
}

/** Memory, then memory+swap: raising both, the limit must go first; lowering, the sum first. */
function v1Memory(dir: string, m: NonNullable<Resources["memory"]>): void {
  const limit = m.limit !== undefined ? String(m.limit) : undefined;
  const memsw = m.swap !== undefined ? String(m.swap) : undefined;
  if (limit !== undefined && memsw !== undefined) {
    try {
      write(dir, "memory.limit_in_bytes", limit);
    } catch {
      write(dir, "memory.memsw.limit_in_bytes", memsw);
      write(dir, "memory.limit_in_bytes", limit);
    }
    write(dir, "memory.memsw.limit_in_bytes", memsw);
  } else if (limit !== undefined) {
    write(dir, "memory.limit_in_bytes", limit);
  } else if (memsw !== undefined) {
    write(dir, "memory.memsw.limit_in_bytes", memsw);
  }
  if (m.reservation !== undefined) write(dir, "memory.soft_limit_in_bytes", String(m.reservation));
  if (m.kernel !== undefined) write(dir, "memory.kmem.limit_in_bytes", String(m.kernel));
  if (m.kernelTCP !== undefined) write(dir, "memory.kmem.tcp.limit_in_bytes", String(m.kernelTCP));
  if (m.swappiness !== undefined) write(dir, "memory.swappiness", String(m.swappiness));
  if (m.disableOOMKiller) write(dir, "memory.oom_control", "1");
  if (m.useHierarchy !== undefined) write(dir, "memory.use_hierarchy", m.useHierarchy ? "1" : "0");
}

export function writeV1(host: HostCgroups, cg: ContainerCgroups, r: Resources, rules?: DeviceRule[]): void {
  if (r.unified && Object.keys(r.unified).length > 0) throw new BoxError("linux.resources.unified needs cgroup v2, and this host has cgroup v1", 1);
  if (rules) {
    const dir = v1Dir(host, cg, "devices", "linux.resources.devices");
    for (const rule of rules) write(dir, rule.allow ? "devices.allow" : "devices.deny", ruleText(rule));
  }
  if (r.memory) v1Memory(v1Dir(host, cg, "memory", "linux.resources.memory"), r.memory);
  const c = r.cpu;
  if (c) {
    const cpu = () => v1Dir(host, cg, "cpu", "linux.resources.cpu");
    if (c.shares !== undefined) write(cpu(), "cpu.shares", String(c.shares));
    if (c.period !== undefined) write(cpu(), "cpu.cfs_period_us", String(c.period));
    if (c.quota !== undefined) write(cpu(), "cpu.cfs_quota_us", String(c.quota));
    if (c.burst !== undefined) write(cpu(), "cpu.cfs_burst_us", String(c.burst));
    if (c.realtimePeriod !== undefined) write(cpu(), "cpu.rt_period_us", String(c.realtimePeriod));
    if (c.realtimeRuntime !== undefined) write(cpu(), "cpu.rt_runtime_us", String(c.realtimeRuntime));
    if (c.idle !== undefined) write(cpu(), "cpu.idle", String(c.idle));
    if (c.cpus) write(v1Dir(host, cg, "cpuset", "linux.resources.cpu.cpus"), "cpuset.cpus", c.cpus);
    if (c.mems) write(v1Dir(host, cg, "cpuset", "linux.resources.cpu.mems"), "cpuset.mems", c.mems);
  }
  if (r.pids) write(v1Dir(host, cg, "pids", "linux.resources.pids"), "pids.max", r.pids.limit > 0 ? String(r.pids.limit) : "max");
  if (r.blockIO) v1BlockIO(v1Dir(host, cg, "blkio", "linux.resources.blockIO"), r.blockIO);
  for (const h of r.hugepageLimits ?? []) write(v1Dir(host, cg, "hugetlb", "linux.resources.hugepageLimits"), `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit));
  if (r.network?.classID !== undefined) write(v1Dir(host, cg, "net_cls", "linux.resources.network.classID"), "net_cls.classid", String(r.network.classID));
  for (const p of r.network?.priorities ?? []) write(v1Dir(host, cg, "net_prio", "linux.resources.network.priorities"), "net_prio.ifpriomap", `${p.name} ${p.priority}`);
}

/** runc's conversions for cgroup v2. */
export const sharesToWeight = (shares: number) => (shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142));
export const blkioToIo = (weight: number) => 1 + Math.floor(((weight - 10) * 9999) / 990);

export function v2Controllers(r: Resources): string[] {
  const out = ["pids"];
  if (r.memory) out.push("memory");
  if (r.cpu && (r.cpu.shares !== undefined || r.cpu.quota !== undefined || r.cpu.period !== undefined || r.cpu.idle !== undefined || r.cpu.burst !== undefined)) out.push("cpu");
  if (r.cpu?.cpus || r.cpu?.mems) out.push("cpuset");
  if (r.blockIO) out.push("io");
  if (r.hugepageLimits?.length) out.push("hugetlb");
  for (const key of Object.keys(r.unified ?? {})) {
    const c = key.split(".")[0]!;
    if (!["cgroup", "cpu"].includes(c) && !out.includes(c)) out.push(c);
  }
  if (Object.keys(r.unified ?? {}).some((k) => k.startsWith("cpu."))) out.push("cpu");
  return [...new Set(out)];
}

export function writeV2(dir: string, r: Resources): void {
  const m = r.memory;
  if (m) {
    if (m.kernel !== undefined || m.kernelTCP !== undefined) throw new BoxError("linux.resources.memory.kernel and kernelTCP need cgroup v1", 1);
    if (m.swappiness !== undefined) throw new BoxError("linux.resources.memory.swappiness needs cgroup v1", 1);
    if (m.disableOOMKiller) throw new BoxError("linux.resources.memory.disableOOMKiller needs cgroup v1", 1);
    if (m.limit !== undefined) write(dir, "memory.max", m.limit < 0 ? "max" : String(m.limit));
    if (m.reservation !== undefined) write(dir, "memory.low", m.reservation < 0 ? "max" : String(m.reservation));
    if (m.swap !== undefined) {
      const swap = m.swap < 0 ? "max" : m.limit !== undefined && m.limit >= 0 ? String(Math.max(0, m.swap - m.limit)) : String(m.swap);
      write(dir, "memory.swap.max", swap);
    }
  }
  const c = r.cpu;
  if (c) {
    if (c.realtimePeriod !== undefined || c.realtimeRuntime !== undefined) throw new BoxError("linux.resources.cpu.realtimePeriod and realtimeRuntime need cgroup v1", 1);
    if (c.shares !== undefined) write(dir, "cpu.weight", String(sharesToWeight(c.shares)));
    if (c.quota !== undefined || c.period !== undefined) {
      const quota = c.quota === undefined || c.quota < 0 ? "max" : String(c.quota);
      write(dir, "cpu.max", `${quota} ${c.period ?? 100000}`);
    }
    if (c.burst !== undefined) write(dir, "cpu.max.burst", String(c.burst));
    if (c.idle !== undefined) write(dir, "cpu.idle", String(c.idle));
    if (c.cpus) write(dir, "cpuset.cpus", c.cpus);
    if (c.mems) write(dir, "cpuset.mems", c.mems);
  }
  if (r.pids) write(dir, "pids.max", r.pids.limit > 0 ? String(r.pids.limit) : "max");
  const b = r.blockIO;
  if (b) {
    if (b.leafWeight !== undefined) throw new BoxError("linux.resources.blockIO.leafWeight needs cgroup v1", 1);
    if (b.weight !== undefined) write(dir, "io.weight", `default ${blkioToIo(b.weight)}`);
    for (const d of b.weightDevice ?? []) if (d.weight !== undefined) write(dir, "io.weight", `${dev(d)} ${blkioToIo(d.weight)}`);
    const keys: Array<[keyof BlockIO, string]> = [["throttleReadBpsDevice", "rbps"], ["throttleWriteBpsDevice", "wbps"], ["throttleReadIOPSDevice", "riops"], ["throttleWriteIOPSDevice", "wiops"]];
    for (const [field, key] of keys) for (const d of (b[field] ?? []) as Array<{ major: number; minor: number; rate: number }>) write(dir, "io.max", `${dev(d)} ${key}=${d.rate}`);
  }
  for (const h of r.hugepageLimits ?? []) write(dir, `hugetlb.${h.pageSize}.max`, String(h.limit));
  if (r.network) throw new BoxError("linux.resources.network needs cgroup v1 (net_cls, net_prio)", 1);
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (key.includes("/") || key.startsWith(".")) throw new BoxError(`linux.resources.unified names "${key}", not a cgroup file`, 1);
    write(dir, key, value);
  }
}

export function writeResources(host: HostCgroups, cg: ContainerCgroups, r: Resources, rules?: DeviceRule[]): void {
  if (host.mode === "v2") writeV2(cg.dirs[0]!, r);
  else writeV1(host, cg, r, rules);
}

/** The freezer: v1 freezer.state, v2 cgroup.freeze. */
export function freezerDir(host: HostCgroups, cg: ContainerCgroups): { dir: string; file: string } {
  if (host.mode === "v2") return { dir: cg.dirs[0]!, file: "cgroup.freeze" };
  return { dir: v1Dir(host, cg, "freezer", "pause"), file: "freezer.state" };
}

export function isFrozen(host: HostCgroups, cg: ContainerCgroups): boolean {
  try {
    const { dir, file } = freezerDir(host, cg);
    const text = readFileSync(join(dir, file), "utf8").trim();
    return file === "cgroup.freeze" ? text === "1" : text === "FROZEN" || text === "FREEZING";
  } catch {
    return false;
  }
}
