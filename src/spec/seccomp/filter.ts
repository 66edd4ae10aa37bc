/**
 * Compiles the seccomp profile into a classic BPF program, by hand, so it can be read: one
 * instruction per line of the listing that `describe` prints. The helper installs it with
 * prctl(PR_SET_SECCOMP) as the last step before exec.
 *
 *   check the ABI: anything but x86_64 (int 0x80 i386 calls, the x32 ABI) is refused
 *   load the syscall number
 *   for each allowed call:        if nr == N: allow
 *   clone without SYS_ADMIN:      allow only when no namespace flag is set
 *   clone3 without SYS_ADMIN:     ENOSYS, so libc falls back to clone, which can be checked
 *   socket, personality:          allow only the argument values docker allows
 *   everything else:              EPERM
 */
import { X86_64_SYSCALLS } from "./x86_64";
import { ALLOWED, ALLOWED_WITH_CAPABILITY, CLONE_NAMESPACE_FLAGS, PERSONALITIES, REFUSED_SOCKET_FAMILIES } from "./profile";

// <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;
// Offsets in struct seccomp_data: nr, arch, then args[6] as u64 (low half first on x86_64).
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LOW = 16;

export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const ld = (off: number): Instruction => ({ code: LD_W_ABS, jt: 0, jf: 0, k: off });
const jeq = (k: number, jt: number, jf: number): Instruction => ({ code: JEQ_K, jt, jf, k });
const ret = (k: number): Instruction => ({ code: RET_K, jt: 0, jf: 0, k });

function nr(name: string): number {
  const n = X86_64_SYSCALLS[name];
  if (n === undefined) throw new Error(`the seccomp profile names an unknown x86_64 syscall: ${name}`);
  return n;
}

/** The names a container with these capabilities may call unconditionally. */
export function allowedSyscalls(capabilities: readonly string[]): string[] {
  const names = new Set(ALLOWED);
  for (const [cap, calls] of ALLOWED_WITH_CAPABILITY) if (capabilities.includes(cap)) for (const c of calls) names.add(c);
  if (capabilities.includes("SYS_ADMIN")) names.add("clone");
  return [...names];
}

export function compileFilter(capabilities: readonly string[]): Instruction[] {
  const p: Instruction[] = [];
  const sysAdmin = capabilities.includes("SYS_ADMIN");
  // The ABI: the arch word, then the x32 bit (x32 calls arrive with the x86_64 arch).
  p.push(ld(OFF_ARCH), jeq(AUDIT_ARCH_X86_64, 1, 0), ret(RET_ERRNO | EPERM));
  p.push(ld(OFF_NR), { code: JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT }, ret(RET_ERRNO | EPERM));

  for (const name of allowedSyscalls(capabilities)) p.push(jeq(nr(name), 0, 1), ret(RET_ALLOW));

  if (!sysAdmin) {
    // clone: A = flags (low 32 bits hold every CLONE_NEW*); any namespace flag is refused.
    p.push(jeq(nr("clone"), 0, 4), ld(OFF_ARG0_LOW), { code: JSET_K, jt: 0, jf: 1, k: CLONE_NAMESPACE_FLAGS });
    p.push(ret(RET_ERRNO | EPERM), ret(RET_ALLOW));
    p.push(jeq(nr("clone3"), 0, 1), ret(RET_ERRNO | ENOSYS));
  }
  // socket: every family but the refused ones.
  const families = REFUSED_SOCKET_FAMILIES;
  p.push(jeq(nr("socket"), 0, 2 + families.length * 2));
  p.push(ld(OFF_ARG0_LOW));
  for (const f of families) p.push(jeq(f, 0, 1), ret(RET_ERRNO | EPERM));
  p.push(ret(RET_ALLOW));
  // personality: only the listed values.
  p.push(jeq(nr("personality"), 0, 2 + PERSONALITIES.length * 2));
  p.push(ld(OFF_ARG0_LOW));
  for (const v of PERSONALITIES) p.push(jeq(v, 0, 1), ret(RET_ALLOW));
  p.push(ret(RET_ERRNO | EPERM));

  p.push(ret(RET_ERRNO | EPERM));
  return p;
}

/** struct sock_filter[], little-endian, as hex: how the plan carries the program. */
export function encodeFilter(program: readonly Instruction[]): string {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf.toString("hex");
}

/**
 * Runs the program on one call, as the kernel would: for tests, and for a reader who wants to know
 * what a container may do. Returns "allow", or "errno N".
 */
export function evaluate(program: readonly Instruction[], call: { nr: number; arch?: number; args?: number[] }): string {
  let a = 0;
  for (let pc = 0; pc < program.length; ) {
    const ins = program[pc]!;
    switch (ins.code) {
      case LD_W_ABS:
        a = ins.k === OFF_NR ? call.nr : ins.k === OFF_ARCH ? (call.arch ?? AUDIT_ARCH_X86_64) : (call.args?.[(ins.k - 16) / 8] ?? 0) >>> 0;
        pc++;
        break;
      case JEQ_K:
        pc += 1 + ((a >>> 0) === (ins.k >>> 0) ? ins.jt : ins.jf);
        break;
      case JGE_K:
        pc += 1 + ((a >>> 0) >= (ins.k >>> 0) ? ins.jt : ins.jf);
        break;
      case JSET_K:
        pc += 1 + ((a & ins.k) !== 0 ? ins.jt : ins.jf);
        break;
      case RET_K:
        return ins.k === RET_ALLOW ? "allow" : `errno ${ins.k & 0xffff}`;
      default:
        throw new Error(`unknown instruction ${ins.code}`);
    }
  }
  throw new Error("the program fell off its end");
}

export const ARCH = { X86_64: AUDIT_ARCH_X86_64, I386: 0x40000003 };
