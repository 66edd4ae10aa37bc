/**
 * cgroup v2 has no devices controller: the rules (devices.ts) become a small eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, attached to the container's cgroup (BPF_F_ALLOW_MULTI, so what the
 * host attached above still applies). The kernel runs it on every open and mknod of a device node
 * in the cgroup: the last rule that matches decides, as v1's list of rules does when read from the
 * end; none matches: denied.
 *
 *   r2 = ctx->access_type; r3 = r2 & 0xffff (type: 1 block, 2 char); r2 >>= 16 (access: 1 mknod,
 *   2 read, 4 write); r4 = ctx->major; r5 = ctx->minor
 *   per rule, last first: type, access (every bit asked for is in the rule), major, minor; on a
 *   match r0 = allow; exit
 *   r0 = 0; exit
 */
import { closeSync, openSync, constants } from "node:fs";
import { BoxError } from "../errors";
import type { DeviceRule } from "./resources-config";
import { bpf } from "../sys/libc";

// <linux/bpf.h>
const LDX_W = 0x61, MOV64_X = 0xbf, MOV64_K = 0xb7, AND64_K = 0x57, RSH64_K = 0x77, JNE_K = 0x55, EXIT = 0x95;
const BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;

interface Insn { code: number; dst: number; src: number; off: number; imm: number }
const I = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

const ACCESS: Record<string, number> = { m: 1, r: 2, w: 4 };

export function deviceProgram(rules: readonly DeviceRule[]): Insn[] {
  const p: Insn[] = [
    I(LDX_W, 2, 1, 0, 0),
    I(MOV64_X, 3, 2, 0, 0),
    I(AND64_K, 3, 0, 0, 0xffff),
    I(RSH64_K, 2, 0, 0, 16),
    I(LDX_W, 4, 1, 4, 0),
    I(LDX_W, 5, 1, 8, 0),
  ];
  for (const rule of [...rules].reverse()) {
    const checks: Insn[] = [];
    const type = rule.type ?? "a";
    if (type !== "a") checks.push(I(JNE_K, 3, 0, 0, type === "b" ? 1 : 2));
    const access = [...(rule.access || "rwm")].reduce((m, c) => m | ACCESS[c]!, 0);
    if (type !== "a" && access !== 7) checks.push(I(MOV64_X, 6, 2, 0, 0), I(AND64_K, 6, 0, 0, ~access & 7), I(JNE_K, 6, 0, 0, 0));
    if (type !== "a" && rule.major !== undefined && rule.major >= 0) checks.push(I(JNE_K, 4, 0, 0, rule.major));
    if (type !== "a" && rule.minor !== undefined && rule.minor >= 0) checks.push(I(JNE_K, 5, 0, 0, rule.minor));
    const verdict = [I(MOV64_K, 0, 0, 0, rule.allow ? 1 : 0), I(EXIT, 0, 0, 0, 0)];
    // Each failed check jumps past the rest of this rule.
    checks.forEach((c, i) => {
      if (c.code === JNE_K) c.off = checks.length - i - 1 + verdict.length;
    });
    p.push(...checks, ...verdict);
    if (checks.length === 0) return p; // an unconditional rule: those before it cannot matter
  }
  p.push(I(MOV64_K, 0, 0, 0, 0), I(EXIT, 0, 0, 0, 0));
  return p;
}

export function encodeInsns(p: readonly Insn[]): Buffer {
  const b = Buffer.alloc(p.length * 8);
  p.forEach((ins, i) => {
    b.writeUInt8(ins.code, i * 8);
    b.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    b.writeInt16LE(ins.off, i * 8 + 2);
    b.writeInt32LE(ins.imm | 0, i * 8 + 4);
  });
  return b;
}

/** Loads the program and attaches it to the cgroup directory. */
export function attachDeviceFilter(cgroupDir: string, rules: readonly DeviceRule[]): void {
  const insns = encodeInsns(deviceProgram(rules));
  const license = Buffer.from("Apache\0");
  const log = Buffer.alloc(4096);
  const load = Buffer.alloc(128);
  load.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  load.writeUInt32LE(insns.length / 8, 4);
  load.writeBigUInt64LE(bpf.address(insns), 8);
  load.writeBigUInt64LE(bpf.address(license), 16);
  load.writeUInt32LE(1, 24);
  load.writeUInt32LE(log.length, 28);
  load.writeBigUInt64LE(bpf.address(log), 32);
  load.write("box_devices", 48);
  const prog = bpf.call(BPF_PROG_LOAD, load);
  if (prog < 0) throw new BoxError(`cannot load the device filter for cgroup v2 (bpf: ${bpf.error(-prog)}): ${log.toString("utf8").replace(/\0.*$/s, "").trim().split("\n").at(-1) ?? ""}`, 1);
  let dir: number | undefined;
  try {
    dir = openSync(cgroupDir, constants.O_RDONLY | constants.O_DIRECTORY);
    const attach = Buffer.alloc(32);
    attach.writeUInt32LE(dir, 0);
    attach.writeUInt32LE(prog, 4);
    attach.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attach.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
    const r = bpf.call(BPF_PROG_ATTACH, attach);
    if (r < 0) throw new BoxError(`cannot attach the device filter to ${cgroupDir}: ${bpf.error(-r)}`, 1);
  } finally {
    if (dir !== undefined) closeSync(dir);
    closeSync(prog);
  }
}
