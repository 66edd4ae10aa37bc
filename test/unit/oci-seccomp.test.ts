/**
 * OCI seccomp profiles compiled to BPF (src/spec/seccomp/oci.ts), run here as the kernel runs them:
 * libseccomp's semantics for actions, errnoRet, 64-bit argument comparisons, rules naming one call
 * more than once, other ABIs; and podman's own default profile, whole.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { compileOciProfile, run, type OciSeccomp } from "../../src/spec/seccomp/oci";
import { parseJsonExact } from "../../src/oci/config";
import { parseSeccomp } from "../../src/oci/seccomp-config";
import { X86_64_SYSCALLS as NR } from "../../src/spec/seccomp/x86_64";

const ALLOW = 0x7fff0000;
const errno = (n: number) => 0x00050000 | n;
const I386 = 0x40000003;

function call(profile: OciSeccomp, name: string, args: bigint[] = [], arch?: number): number {
  return run(compileOciProfile(profile), { nr: NR[name]!, args, arch });
}

describe("OCI seccomp profiles as BPF", () => {
  test("actions, errnoRet, defaultErrnoRet", () => {
    const p: OciSeccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["kill"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["tkill"], action: "SCMP_ACT_KILL" },
        { names: ["getpid"], action: "SCMP_ACT_TRAP" },
        { names: ["getppid"], action: "SCMP_ACT_LOG" },
        { names: ["getuid"], action: "SCMP_ACT_TRACE", errnoRet: 7 },
      ],
    };
    expect(call(p, "read")).toBe(ALLOW);
    expect(call(p, "mkdir")).toBe(errno(13));
    expect(call(p, "kill")).toBe(0x80000000);
    expect(call(p, "tkill")).toBe(0);
    expect(call(p, "getpid")).toBe(0x00030000);
    expect(call(p, "getppid")).toBe(0x7ffc0000);
    expect(call(p, "getuid")).toBe(0x7ff00007);
    expect(call(p, "open")).toBe(errno(38));
    expect(call({ defaultAction: "SCMP_ACT_ERRNO" }, "open")).toBe(errno(1));
  });

  test("comparisons on 64-bit arguments, high words included", () => {
    const big = 0x1_0000_0005n;
    const op = (o: string, value: bigint, valueTwo?: bigint): OciSeccomp => ({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value, valueTwo, op: o as never }] }],
    });
    const hit = (p: OciSeccomp, v: bigint) => call(p, "ioctl", [0n, v]) === errno(1);
    expect([hit(op("SCMP_CMP_EQ", big), big), hit(op("SCMP_CMP_EQ", big), 5n), hit(op("SCMP_CMP_EQ", big), big + 1n)]).toEqual([true, false, false]);
    expect([hit(op("SCMP_CMP_NE", big), big), hit(op("SCMP_CMP_NE", big), 5n)]).toEqual([false, true]);
    for (const [o, below, at, above] of [["SCMP_CMP_LT", true, false, false], ["SCMP_CMP_LE", true, true, false], ["SCMP_CMP_GT", false, false, true], ["SCMP_CMP_GE", false, true, true]] as const) {
      expect([hit(op(o, big), 0x0_ffff_ffffn), hit(op(o, big), big), hit(op(o, big), 0x1_0000_0006n), hit(op(o, big), 0x2_0000_0000n)]).toEqual([below, at, above, above]);
    }
    const masked = op("SCMP_CMP_MASKED_EQ", 0xff00_0000_00ffn, 0x1200_0000_0034n);
    expect([hit(masked, 0x12ab_cdef_aa34n), hit(masked, 0x1200_0000_0035n), hit(masked, 0x1300_0000_0034n)]).toEqual([true, false, false]);
  });

  test("rules naming one call: tried in order; a rule comparing one argument twice is split (either holds)", () => {
    const p: OciSeccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0n, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8n, op: "SCMP_CMP_EQ" }] },
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1n, op: "SCMP_CMP_EQ" }, { index: 0, value: 2n, op: "SCMP_CMP_EQ" }] },
        { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2n, op: "SCMP_CMP_EQ" }, { index: 1, value: 1n, op: "SCMP_CMP_EQ" }] },
      ],
    };
    expect([0n, 8n, 9n].map((v) => call(p, "personality", [v]))).toEqual([ALLOW, ALLOW, errno(1)]);
    expect([1n, 2n, 3n].map((v) => call(p, "clone", [v]))).toEqual([ALLOW, ALLOW, errno(1)]);
    // Different arguments in one rule: all must hold.
    expect([call(p, "socket", [2n, 1n]), call(p, "socket", [2n, 2n]), call(p, "socket", [10n, 1n])]).toEqual([ALLOW, errno(1), errno(1)]);
  });

  test("other ABIs: the default action, or EPERM when the default allows", () => {
    const refusing: OciSeccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] };
    expect(call(refusing, "read", [], I386)).toBe(errno(38));
    const allowing: OciSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] };
    expect(call(allowing, "read", [], I386)).toBe(errno(1));
    expect(run(compileOciProfile(allowing), { nr: 0x40000000 | NR.mkdir! })).toBe(errno(1));
  });

  test("names x86_64 lacks: passed over when the default refuses anyway, refused when it would allow them", () => {
    expect(call({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["chown32", "read"], action: "SCMP_ACT_ALLOW" }] }, "read")).toBe(ALLOW);
    expect(() => compileOciProfile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["chown32"], action: "SCMP_ACT_ERRNO" }] })).toThrow("it restricts chown32, which box does not know on x86_64");
  });

  test("podman's default profile (containers-common's seccomp.json) compiles and means what it says", () => {
    const file = "/usr/share/containers/seccomp.json";
    if (!existsSync(file)) return; // podman is not installed here
    const { archMap: _a, defaultErrno: _d, ...raw } = parseJsonExact(readFileSync(file, "utf8")) as { syscalls: Array<Record<string, unknown>>; archMap?: unknown; defaultErrno?: unknown };
    // The file's includes/excludes select rules by capability and architecture; keep the plain ones.
    raw.syscalls = raw.syscalls.filter((r) => !r.includes || Object.keys(r.includes as object).length === 0).map(({ includes: _i, excludes: _e, comment: _c, errno: _n, ...r }) => r);
    const profile = parseSeccomp(raw, "linux.seccomp");
    const program = compileOciProfile(profile);
    expect(program.length).toBeLessThan(4096);
    expect(call(profile, "read")).toBe(ALLOW);
    expect(call(profile, "kexec_load")).toBe(errno(1));
    expect(call(profile, "personality", [0n])).toBe(ALLOW);
    expect(call(profile, "personality", [0x1234n])).toBe(errno(38));
  });
});
