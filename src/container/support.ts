/**
 * What the helper this box carries can do. Some of docker's options need steps of the helper's
 * (resource limits, sysctls inside the container's namespaces, restarts, the console socket of
 * box attach): the plan says whether it has them, so a container that asks for one is refused in
 * one sentence, before anything is made, until the helper's plan carries it. Nothing is guessed:
 * the plan encoder (src/spec/plan.ts) is asked what it writes for a spec that has them.
 */
import { BoxError } from "../errors";
import { buildSpec, type SpecInput } from "../spec/build";
import { planRecords, type PlanRecord } from "../spec/plan";
import type { RunRequest } from "../spec/request";

/** The plan record that carries each feature (the contract with the helper). */
export const FEATURE_RECORDS = {
  rlimit: "rlimit",
  sysctl: "sysctl_in",
  restart: "restart",
  attach: "console",
} as const;

export type Feature = keyof typeof FEATURE_RECORDS;

let probed: PlanRecord[] | undefined;

/** The plan of a spec that has every feature: what the encoder writes for them, if anything. */
function probe(): PlanRecord[] {
  const input: SpecInput = {
    process: { args: ["/bin/true"], env: [], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/root", hostname: "probe", tty: false, stdin: false },
    security: { capabilities: [], noNewPrivileges: true, seccomp: false, systemPaths: false, privileged: false },
    network: "none",
    rootfs: { kind: "bind", path: "/nonexistent" },
    etcFiles: { hostname: "/nonexistent", hosts: "/nonexistent", resolvConf: "/nonexistent" },
    cleanup: [],
    rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }],
    containerSysctls: { "net.ipv4.ip_forward": "1" },
    restart: { name: "always", maximumRetryCount: 0 },
    detach: { id: "", log: "/nonexistent/log", logCap: 1 },
    attachSocket: "/nonexistent/attach",
  };
  return (probed ??= planRecords(buildSpec(input)));
}

export function helperSupports(feature: Feature): boolean {
  return probe().some((r) => r[0] === FEATURE_RECORDS[feature]);
}

const WHY: Record<Exclude<Feature, "attach">, string> = {
  rlimit: "--ulimit is not supported by this build of box yet: its helper cannot set resource limits",
  sysctl: "--sysctl is not supported by this build of box yet: its helper cannot write sysctls inside the container",
  restart: "--restart is not supported by this build of box yet: its helper cannot restart a command (use --restart no)",
};

/** Refuses a request that needs what the helper cannot do (checked by run and create, up front). */
export function checkHelperSupport(req: RunRequest): void {
  const wanted: Array<Exclude<Feature, "attach">> = [];
  if ((req.ulimits ?? []).length > 0) wanted.push("rlimit");
  if (Object.keys(req.sysctls ?? {}).length > 0) wanted.push("sysctl");
  if (req.restart && req.restart.name !== "no") wanted.push("restart");
  for (const f of wanted) if (!helperSupports(f)) throw new BoxError(WHY[f]);
}
