/**
 * A seccomp profile in the OCI runtime spec's JSON form (linux.seccomp: defaultAction, syscalls with
 * names, action, errnoRet and argument comparisons), compiled to a classic BPF program by hand, as
 * filter.ts compiles box's own profile. Semantics are libseccomp's, as runc and crun give them:
 *
 *   - a call the profile does not name gets defaultAction (defaultErrnoRet for ERRNO and TRACE);
 *   - the rules naming one call are tried in the profile's order: the first whose argument
 *     comparisons all hold decides; none holds: defaultAction;
 *   - comparisons are on the full 64-bit argument (two 32-bit loads); a rule comparing one
 *     argument twice is split into one rule per comparison (either may hold), as runc does;
 *   - x86_64 only: a call through another ABI (i386's int 0x80, x32) gets defaultAction, or EPERM
 *     when defaultAction would allow it, whatever `architectures` lists;
 *   - a name x86_64 does not have is passed over when the default already refuses what the rule
 *     would allow; a profile that allows by default and restricts such a name is refused.
 *
 * Calls are found by a binary search over their numbers (jge, then a long jump `ja`), so a call
 * costs about ten comparisons in a profile of 400 names, not one per name.
 */
import type { Instruction } from "./filter";
import { X86_64_SYSCALLS } from "./x86_64";

export type SeccompAction =
  | "SCMP_ACT_KILL" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_TRAP" | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE" | "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" | "SCMP_ACT_NOTIFY";
export type SeccompOp = "SCMP_CMP_NE" | "SCMP_CMP_LT" | "SCMP_CMP_LE" | "SCMP_CMP_EQ" | "SCMP_CMP_GE" | "SCMP_CMP_GT" | "SCMP_CMP_MASKED_EQ";
export interface SeccompArg { index: number; value: bigint; valueTwo?: bigint; op: SeccompOp }
export interface SeccompRule { names: string[]; action: SeccompAction; errnoRet?: number; args?: SeccompArg[] }
export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: SeccompRule[];
}

/** One struct sock_filter (filter.ts's; encodeFilter there writes the program as the plan carries it). */
export type Ins = Instruction;

const LD_W_ABS = 0x20, JA = 0x05, JEQ = 0x15, JGT = 0x25, JGE = 0x35, AND_K = 0x54, RET = 0x06;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;

export function actionValue(action: SeccompAction, errno?: number): number {
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD": return 0x00000000;
    case "SCMP_ACT_KILL_PROCESS": return 0x80000000;
    case "SCMP_ACT_TRAP": return 0x00030000;
    case "SCMP_ACT_ERRNO": return 0x00050000 | ((errno ?? EPERM) & 0xffff);
    case "SCMP_ACT_TRACE": return 0x7ff00000 | ((errno ?? 0) & 0xffff);
    case "SCMP_ACT_LOG": return 0x7ffc0000;
    case "SCMP_ACT_ALLOW": return 0x7fff0000;
    case "SCMP_ACT_NOTIFY": throw new Error("SCMP_ACT_NOTIFY needs a seccomp agent");
  }
}

const permissive = (a: SeccompAction) => a === "SCMP_ACT_ALLOW" || a === "SCMP_ACT_LOG";

/* A small assembler: instructions whose jumps name labels, resolved once the program is laid out. */
type Item = { ins: Ins; jt?: string; jf?: string; ja?: string } | { label: string };

class Asm {
  items: Item[] = [];
  private n = 0;
  label(): string {
    return `L${this.n++}`;
  }
  at(label: string): void {
    this.items.push({ label });
  }
  op(code: number, k: number, jt?: string, jf?: string): void {
    this.items.push({ ins: { code, jt: 0, jf: 0, k: k >>> 0 }, jt, jf });
  }
  ja(to: string): void {
    this.items.push({ ins: { code: JA, jt: 0, jf: 0, k: 0 }, ja: to });
  }
  ret(k: number): void {
    this.op(RET, k);
  }
  /** Lays out the program; undefined jt/jf mean the next instruction. */
  assemble(): Ins[] {
    const where = new Map<string, number>();
    let pc = 0;
    for (const it of this.items) if ("label" in it) where.set(it.label, pc); else pc++;
    const out: Ins[] = [];
    for (const it of this.items) {
      if ("label" in it) continue;
      const here = out.length;
      const off = (l?: string) => (l === undefined ? 0 : where.get(l)! - here - 1);
      const ins = { ...it.ins };
      if (it.ja !== undefined) ins.k = off(it.ja);
      else if (ins.code !== RET && ins.code !== LD_W_ABS && ins.code !== AND_K) {
        ins.jt = off(it.jt);
        ins.jf = off(it.jf);
        if (ins.jt > 255 || ins.jf > 255 || ins.jt < 0 || ins.jf < 0) throw new Error("a seccomp jump does not fit in 8 bits");
      }
      out.push(ins);
    }
    return out;
  }
}

const lo = (v: bigint) => Number(v & 0xffffffffn);
const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const argLo = (i: number) => 16 + 8 * i;
const argHi = (i: number) => 20 + 8 * i;

/** One comparison: falls through when it holds, jumps to `no` when not. */
function compare(a: Asm, c: SeccompArg, no: string): void {
  const v = c.value;
  const yes = a.label();
  switch (c.op) {
    case "SCMP_CMP_EQ":
    case "SCMP_CMP_NE": {
      const [match, miss] = c.op === "SCMP_CMP_EQ" ? [yes, no] : [no, yes];
      const lowCheck = a.label();
      a.op(LD_W_ABS, argHi(c.index));
      a.op(JEQ, hi(v), lowCheck, c.op === "SCMP_CMP_EQ" ? no : yes);
      a.at(lowCheck);
      a.op(LD_W_ABS, argLo(c.index));
      a.op(JEQ, lo(v), match, miss);
      break;
    }
    case "SCMP_CMP_MASKED_EQ": {
      const mask = v, want = c.valueTwo ?? 0n;
      const lowCheck = a.label();
      a.op(LD_W_ABS, argHi(c.index));
      a.op(AND_K, hi(mask));
      a.op(JEQ, hi(want) & hi(mask), lowCheck, no);
      a.at(lowCheck);
      a.op(LD_W_ABS, argLo(c.index));
      a.op(AND_K, lo(mask));
      a.op(JEQ, lo(want) & lo(mask), yes, no);
      break;
    }
    default: {
      // Unsigned: decided by the high words unless they are equal, then by the low words.
      const greater = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_GE";
      const strict = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_LT";
      const lowCheck = a.label();
      a.op(LD_W_ABS, argHi(c.index));
      a.op(JGT, hi(v), greater ? yes : no, undefined);
      a.op(JEQ, hi(v), lowCheck, greater ? no : yes);
      a.at(lowCheck);
      a.op(LD_W_ABS, argLo(c.index));
      if (greater) a.op(strict ? JGT : JGE, lo(v), yes, no);
      else a.op(strict ? JGE : JGT, lo(v), no, yes);
    }
  }
  a.at(yes);
}

/** A rule comparing one argument more than once becomes one rule per comparison (runc's way). */
function expand(rule: SeccompRule): SeccompRule[] {
  const args = rule.args ?? [];
  const counts = new Map<number, number>();
  for (const c of args) counts.set(c.index, (counts.get(c.index) ?? 0) + 1);
  if ([...counts.values()].every((n) => n <= 1)) return [rule];
  return args.map((c) => ({ ...rule, args: [c] }));
}

interface Entry { nr: number; rules: SeccompRule[] }

function entries(profile: OciSeccomp): Entry[] {
  const byNr = new Map<number, Entry>();
  for (const rule of profile.syscalls ?? []) {
    if (rule.action === "SCMP_ACT_NOTIFY") throw new Error("SCMP_ACT_NOTIFY needs a seccomp agent, which box does not run");
    for (const name of rule.names) {
      const nr = X86_64_SYSCALLS[name];
      if (nr === undefined) {
        if (permissive(profile.defaultAction) && !permissive(rule.action)) throw new Error(`it restricts ${name}, which box does not know on x86_64, while allowing what it does not name`);
        continue;
      }
      const e = byNr.get(nr) ?? { nr, rules: [] };
      e.rules.push(...expand(rule));
      byNr.set(nr, e);
    }
  }
  return [...byNr.values()].sort((x, y) => x.nr - y.nr);
}

function emitEntry(a: Asm, e: Entry, dflt: string): void {
  for (const rule of e.rules) {
    const next = a.label();
    for (const c of rule.args ?? []) compare(a, c, next);
    a.ret(actionValue(rule.action, rule.errnoRet));
    a.at(next);
    if ((rule.args ?? []).length === 0) return; // later rules cannot be reached
  }
  a.ja(dflt);
}

/** The search: ranges of at most four calls are scanned; larger ones are split on their middle. */
function emitSearch(a: Asm, list: Entry[], dflt: string): void {
  if (list.length <= 4) {
    for (const e of list) {
      const skip = a.label();
      const into = a.label();
      a.op(LD_W_ABS, 0);
      a.op(JEQ, e.nr, into, undefined);
      a.ja(skip);
      a.at(into);
      emitEntry(a, e, dflt);
      a.at(skip);
    }
    a.ja(dflt);
    return;
  }
  const mid = Math.floor(list.length / 2);
  const right = a.label();
  const left = a.label();
  a.op(LD_W_ABS, 0);
  a.op(JGE, list[mid]!.nr, undefined, left); // the right half: through the long jump below
  a.ja(right);
  a.at(left);
  emitSearch(a, list.slice(0, mid), dflt);
  a.at(right);
  emitSearch(a, list.slice(mid), dflt);
}

export function compileOciProfile(profile: OciSeccomp): Ins[] {
  const a = new Asm();
  const dflt = a.label();
  const other = a.label();
  const defaultValue = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const native = a.label();
  const notX32 = a.label();
  a.op(LD_W_ABS, 4);
  a.op(JEQ, AUDIT_ARCH_X86_64, native, undefined);
  a.ja(other);
  a.at(native);
  a.op(LD_W_ABS, 0);
  a.op(JGE, X32_SYSCALL_BIT, undefined, notX32);
  a.ja(other);
  a.at(notX32);
  emitSearch(a, entries(profile), dflt);
  a.at(other);
  a.ret(permissive(profile.defaultAction) ? actionValue("SCMP_ACT_ERRNO", EPERM) : defaultValue);
  a.at(dflt);
  a.ret(defaultValue);
  return a.assemble();
}

/** Runs a program as the kernel would, on 64-bit arguments: for tests. Returns the action value. */
export function run(program: readonly Ins[], call: { nr: number; arch?: number; args?: bigint[] }): number {
  let acc = 0;
  for (let pc = 0; pc < program.length; ) {
    const ins = program[pc]!;
    const k = ins.k >>> 0;
    switch (ins.code) {
      case LD_W_ABS: {
        const arg = (i: number) => call.args?.[i] ?? 0n;
        acc = k === 0 ? call.nr : k === 4 ? (call.arch ?? AUDIT_ARCH_X86_64) : (k - 16) % 8 === 0 ? lo(arg((k - 16) / 8)) : hi(arg((k - 20) / 8));
        pc++;
        break;
      }
      case AND_K: acc = (acc & k) >>> 0; pc++; break;
      case JA: pc += 1 + k; break;
      case JEQ: pc += 1 + (acc >>> 0 === k ? ins.jt : ins.jf); break;
      case JGT: pc += 1 + (acc >>> 0 > k ? ins.jt : ins.jf); break;
      case JGE: pc += 1 + (acc >>> 0 >= k ? ins.jt : ins.jf); break;
      case RET: return k;
      default: throw new Error(`unknown instruction ${ins.code}`);
    }
  }
  throw new Error("the program fell off its end");
}
