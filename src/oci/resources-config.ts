/**
 * linux.resources of config.json, read strictly (what box writes for each field, on cgroup v1 and
 * v2: resources.ts). Memory values are signed (-1: no limit), the rest unsigned.
 */
import { bool, int, int64, invalid, list, map, need, oneOf, str, strict, uint32, type Check } from "./check";

export interface DeviceRule { allow: boolean; type?: "a" | "c" | "b"; major?: number; minor?: number; access?: string }
export interface Memory {
  limit?: number; reservation?: number; swap?: number; kernel?: number; kernelTCP?: number;
  swappiness?: number; disableOOMKiller?: boolean; useHierarchy?: boolean; checkBeforeUpdate?: boolean;
}
export interface Cpu {
  shares?: number; quota?: number; burst?: number; period?: number; realtimeRuntime?: number;
  realtimePeriod?: number; cpus?: string; mems?: string; idle?: number;
}
export interface WeightDevice { major: number; minor: number; weight?: number; leafWeight?: number }
export interface ThrottleDevice { major: number; minor: number; rate: number }
export interface BlockIO {
  weight?: number; leafWeight?: number; weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[]; throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[]; throttleWriteIOPSDevice?: ThrottleDevice[];
}
export interface Resources {
  devices?: DeviceRule[];
  memory?: Memory;
  cpu?: Cpu;
  pids?: { limit: number };
  blockIO?: BlockIO;
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  network?: { classID?: number; priorities?: Array<{ name: string; priority: number }> };
  unified?: Record<string, string>;
}

const u = int(0);
const access: Check<string> = (v, at) => {
  const s = str(v, at);
  if (!/^[rwm]{0,3}$/.test(s) || new Set(s).size !== s.length) invalid(at, `is "${s}": give r, w and m, each at most once`);
  return s;
};

const deviceRule: Check<DeviceRule> = (v, at) =>
  need(strict<DeviceRule>({ allow: bool, type: oneOf("a", "c", "b"), major: int(-1), minor: int(-1), access })(v, at), ["allow"], at);

const memory = strict<Memory>({
  limit: int64, reservation: int64, swap: int64, kernel: int64, kernelTCP: int64, swappiness: int(0, 100),
  disableOOMKiller: bool, useHierarchy: bool, checkBeforeUpdate: bool,
});

const cpu = strict<Cpu>({
  shares: u, quota: int64, burst: u, period: u, realtimeRuntime: int64, realtimePeriod: u,
  cpus: str, mems: str, idle: int(0, 1),
});

const weightDevice: Check<WeightDevice> = (v, at) => need(strict<WeightDevice>({ major: u, minor: u, weight: int(10, 1000), leafWeight: int(10, 1000) })(v, at), ["major", "minor"], at);
const throttle: Check<ThrottleDevice> = (v, at) => need(strict<ThrottleDevice>({ major: u, minor: u, rate: u })(v, at), ["major", "minor", "rate"], at);

const blockIO = strict<BlockIO>({
  weight: int(10, 1000), leafWeight: int(10, 1000), weightDevice: list(weightDevice, 64),
  throttleReadBpsDevice: list(throttle, 64), throttleWriteBpsDevice: list(throttle, 64),
  throttleReadIOPSDevice: list(throttle, 64), throttleWriteIOPSDevice: list(throttle, 64),
});

export const parseResources = strict<Resources>(
  {
    devices: list(deviceRule, 1024),
    memory,
    cpu,
    pids: (v, at) => need(strict<{ limit: number }>({ limit: int64 })(v, at), ["limit"], at),
    blockIO,
    hugepageLimits: list((v, at) => need(strict<{ pageSize: string; limit: number }>({ pageSize: str, limit: u })(v, at), ["pageSize", "limit"], at), 16),
    network: strict<{ classID?: number; priorities?: Array<{ name: string; priority: number }> }>({
      classID: uint32,
      priorities: list((v, at) => need(strict<{ name: string; priority: number }>({ name: str, priority: uint32 })(v, at), ["name", "priority"], at), 64),
    }),
    unified: map(str),
  },
  { rdma: "box does not limit RDMA resources" },
);
