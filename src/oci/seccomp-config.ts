/**
 * linux.seccomp of config.json, read strictly; compiled to BPF by src/spec/seccomp/oci.ts. A
 * profile box cannot carry out as written is refused by name: SCMP_ACT_NOTIFY (a seccomp agent
 * listening on listenerPath), and flags other than those the kernel takes at install time.
 */
import type { OciSeccomp, SeccompArg, SeccompRule } from "../spec/seccomp/oci";
import { int, invalid, list, need, oneOf, str, strict, strings, type Check } from "./check";

const ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
] as const;
const OPS = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"] as const;
/** Flags of seccomp(2) that box passes on (TSYNC changes nothing: the command is single-threaded). */
export const SECCOMP_FLAGS = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] as const;

const action: Check<OciSeccomp["defaultAction"]> = (v, at) =>
  v === "SCMP_ACT_NOTIFY" ? invalid(at, "is SCMP_ACT_NOTIFY: box runs no seccomp agent") : oneOf(...ACTIONS)(v, at);

const u64: Check<bigint> = (v, at) => {
  if (typeof v === "bigint" && v >= 0n && v < 1n << 64n) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return invalid(at, "is not a whole number from 0 to 2^64-1");
};

const arg: Check<SeccompArg> = (v, at) => need(strict<SeccompArg>({ index: int(0, 5), value: u64, valueTwo: u64, op: oneOf(...OPS) })(v, at), ["index", "value", "op"], at);

const rule: Check<SeccompRule> = (v, at) => {
  const r = strict<SeccompRule & { comment?: string }>(
    { names: strings(1024), action, errnoRet: int(0, 0xffff), args: list(arg, 6), comment: str },
    { includes: "it is a profile-file field (docker's): give the resolved profile", excludes: "it is a profile-file field (docker's): give the resolved profile" },
  )(v, at);
  need(r, ["names", "action"], at);
  delete r.comment;
  return r;
};

export const parseSeccomp: Check<OciSeccomp> = (v, at) => {
  const s = strict<OciSeccomp>(
    {
      defaultAction: action,
      defaultErrnoRet: int(0, 0xffff),
      architectures: list(oneOf("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"), 32),
      flags: list((v, a) => {
        const f = oneOf(...SECCOMP_FLAGS)(v, a);
        if (f !== "SECCOMP_FILTER_FLAG_TSYNC") invalid(a, `is ${f}: box installs its filter without seccomp(2) flags (TSYNC alone is accepted: the command is single-threaded)`);
        return f;
      }, 8),
      syscalls: list(rule, 4096),
    },
    { listenerPath: "box runs no seccomp agent", listenerMetadata: "box runs no seccomp agent" },
  )(v, at);
  return need(s, ["defaultAction"], at);
};
