/**
 * What `box-helper --check` prints for the runc CLI's records (helper/plan_print_oci.c), as the
 * TypeScript side means them; expected.ts adds these lines to every plan's.
 */
import type { PlanRecord } from "../../src/spec/plan";
import { run, type Ins } from "../../src/spec/seccomp/oci";
import { token } from "./expected";

/** Mount flags by the names the helper prints them with (<sys/mount.h>). */
export const MOUNT_FLAG_NAMES: Record<string, number> = {
  ro: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8, sync: 0x10, remount: 0x20, mand: 0x40, dirsync: 0x80,
  noatime: 0x400, nodiratime: 0x800, bind: 0x1000, rec: 0x4000, unbindable: 0x20000, private: 0x40000,
  slave: 0x80000, shared: 0x100000, relatime: 0x200000, strictatime: 0x1000000, lazytime: 0x2000000,
};

function names(decimal: string): string {
  const v = Number(decimal);
  const out = Object.entries(MOUNT_FLAG_NAMES).filter(([, bit]) => (v & bit) !== 0).map(([n]) => n);
  return out.length ? out.join(",") : "none";
}

export function mknodLine([path, type, major, minor, mode, uid, gid]: string[]): string {
  return `mknod ${token(path)} type=${type} dev=${major}:${minor} mode=${parseInt(mode!, 8).toString(8).padStart(4, "0")} uid=${uid} gid=${gid}`;
}

export function ociDefault(program: Ins[]): string {
  const k = run(program, { nr: 0x3fff });
  if (k === 0x7fff0000) return "allow";
  if ((k & 0xffff0000) === 0x00050000) return `errno ${k & 0xffff}`;
  return `action:0x${k.toString(16)}`;
}

export function ociLines(records: readonly PlanRecord[]): string[] {
  const all = (key: string) => records.filter((r) => r[0] === key).map((r) => r.slice(1));
  const one = (key: string) => all(key)[0];
  const out: string[] = [];
  if (one("pid1")) out.push("pid1");
  if (one("handoff")) out.push("handoff");
  const pidfile = one("oci_pidfile");
  if (pidfile) out.push(`oci-pidfile path=${token(pidfile[0])}`);
  const socket = one("console_socket");
  if (socket) {
    const [rows, cols] = one("console_size") ?? ["0", "0"];
    out.push(`console-socket path=${token(socket[0])} rows=${rows} cols=${cols}`);
  }
  for (const [type, path] of all("ns_path")) out.push(`join-namespace type=${type} path=${token(path)}`);
  const oom = one("oom_score_adj");
  if (oom) out.push(`oom-score-adj ${oom[0]}`);
  const domain = one("domainname");
  if (domain) out.push(`domainname ${token(domain[0])}`);
  const prop = one("root_propagation");
  if (prop) out.push(`root-propagation flags=${names(prop[0]!)}`);
  // Hooks in plan order, each with the environment that follows it.
  for (let i = 0; i < records.length; i++) {
    const [key, kind, timeout, path, ...argv] = records[i]!;
    if (key !== "hook") continue;
    const env = records[i + 1]?.[0] === "hook_env" ? records[i + 1]!.slice(1) : [];
    out.push(`hook kind=${kind} timeout=${timeout} path=${token(path)} argv${argv.map((a) => " " + token(a)).join("")} env${env.map((e) => " " + token(e)).join("")}`);
  }
  const state = one("hook_state");
  if (state) out.push(`hook-state before=${token(state[0])} middle=${token(state[1])} after=${token(state[2])}`);
  const report = one("report_format");
  if (report && report[0] !== "box") out.push(`report format=${report[0]} log=${token(report[1])}`);
  return out;
}
