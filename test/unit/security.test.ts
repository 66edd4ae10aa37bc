import { describe, expect, test } from "bun:test";
import { resolveSecurity } from "../../src/spec/options";
import { capabilitiesIn, capabilityMask, DEFAULT_CAPABILITIES, resolveCapabilities } from "../../src/spec/capabilities";
import { ALLOWED, ALLOWED_WITH_CAPABILITY } from "../../src/spec/seccomp/profile";
import { ARCH, compileFilter, encodeFilter, evaluate } from "../../src/spec/seccomp/filter";
import { X86_64_SYSCALLS as NR } from "../../src/spec/seccomp/x86_64";

const defaults = [...DEFAULT_CAPABILITIES];

describe("capabilities", () => {
  test("docker's default set is mask a80425fb", () => {
    expect(capabilityMask(resolveCapabilities([], [], false))).toBe("00000000a80425fb");
  });
  test("--cap-drop, --cap-add, ALL, names with or without CAP_, any case", () => {
    expect(resolveCapabilities([], ["ALL"], false)).toEqual([]);
    expect(resolveCapabilities(["net_admin"], ["all"], false)).toEqual(["NET_ADMIN"]);
    expect(resolveCapabilities(["CAP_SYS_ADMIN"], ["CAP_CHOWN"], false)).toEqual(
      expect.arrayContaining(["SYS_ADMIN", "KILL"]),
    );
    expect(resolveCapabilities([], ["chown"], false)).not.toContain("CHOWN");
    expect(() => resolveCapabilities(["FLY"], [], false)).toThrow('unknown capability "FLY"');
  });
  test("privileged and ALL mean every capability box holds; one it lacks cannot be added", () => {
    const held = ["CHOWN", "KILL", "SYS_ADMIN"];
    expect(resolveCapabilities([], [], true, held)).toEqual(["CHOWN", "KILL", "SYS_ADMIN"]);
    expect(resolveCapabilities(["ALL"], [], false, held)).toEqual(["CHOWN", "KILL", "SYS_ADMIN"]);
    expect(() => resolveCapabilities(["SYS_RESOURCE"], [], false, held)).toThrow("capability SYS_RESOURCE is not available");
    expect(capabilitiesIn("000001fffeffffff")).not.toContain("SYS_RESOURCE");
    expect(capabilitiesIn("00000000a80425fb").sort()).toEqual([...defaults].sort());
  });
  test("--security-opt and --privileged", () => {
    const base = { capAdd: [], capDrop: [], privileged: false, securityOpt: [] as string[] };
    expect(resolveSecurity(base, defaults)).toMatchObject({ noNewPrivileges: true, seccomp: true, systemPaths: true });
    expect(resolveSecurity({ ...base, securityOpt: ["seccomp=unconfined", "no-new-privileges=false", "systempaths=unconfined"] }, defaults)).toMatchObject({
      noNewPrivileges: false, seccomp: false, systemPaths: false,
    });
    expect(resolveSecurity({ ...base, securityOpt: ["no-new-privileges"] }, defaults).noNewPrivileges).toBe(true);
    expect(resolveSecurity({ ...base, privileged: true }, defaults)).toMatchObject({ seccomp: false, systemPaths: false, privileged: true });
    expect(() => resolveSecurity({ ...base, securityOpt: ["label=disable"] }, defaults)).toThrow('unsupported security option "label=disable"');
  });
});

describe("seccomp filter", () => {
  test("every name in the profile is an x86_64 syscall", () => {
    for (const name of [...ALLOWED, ...ALLOWED_WITH_CAPABILITY.flatMap(([, calls]) => calls)]) expect({ name, nr: NR[name] }).toEqual({ name, nr: expect.any(Number) });
  });

  const filter = compileFilter(defaults);
  const call = (name: string, args: number[] = []) => evaluate(filter, { nr: NR[name]!, args });

  test("allows what a program needs, refuses what docker refuses, with EPERM", () => {
    for (const ok of ["read", "write", "openat", "execve", "clone", "wait4", "chroot", "socket", "mknodat"]) expect({ ok, r: call(ok) }).toEqual({ ok, r: "allow" });
    for (const no of ["mount", "umount2", "unshare", "setns", "pivot_root", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "open_by_handle_at", "init_module", "finit_module", "delete_module", "kexec_load", "reboot", "userfaultfd", "ptrace", "sethostname"]) {
      expect({ no, r: call(no) }).toEqual({ no, r: "errno 1" });
    }
  });
  test("clone with a namespace flag is refused, clone3 is ENOSYS", () => {
    expect(call("clone", [0x11])).toBe("allow"); // SIGCHLD | something harmless
    for (const flag of [0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]) expect(call("clone", [flag | 17])).toBe("errno 1");
    expect(call("clone3")).toBe("errno 38");
  });
  test("the wrong ABI is refused whatever the number: i386, x32", () => {
    expect(evaluate(filter, { nr: 3, arch: ARCH.I386 })).toBe("errno 1");
    expect(evaluate(filter, { nr: 0x40000000 | NR.read! })).toBe("errno 1");
  });
  test("socket and personality arguments", () => {
    expect(call("socket", [40])).toBe("errno 1");
    expect(call("socket", [1])).toBe("allow");
    expect(call("personality", [0xffffffff])).toBe("allow");
    expect(call("personality", [0x0400000])).toBe("errno 1");
  });
  test("a capability unlocks its calls: SYS_ADMIN mount and namespaces, SYS_MODULE modules", () => {
    const admin = compileFilter([...defaults, "SYS_ADMIN"]);
    expect(evaluate(admin, { nr: NR.mount! })).toBe("allow");
    expect(evaluate(admin, { nr: NR.clone!, args: [0x10000000] })).toBe("allow");
    expect(evaluate(admin, { nr: NR.clone3! })).toBe("allow");
    expect(evaluate(compileFilter([...defaults, "SYS_MODULE"]), { nr: NR.finit_module! })).toBe("allow");
  });
  test("encoded as struct sock_filter: 8 bytes per instruction, little-endian", () => {
    const hex = encodeFilter([{ code: 0x06, jt: 1, jf: 2, k: 0x7fff0000 }]);
    expect(hex).toBe("060001020000ff7f");
    expect(encodeFilter(filter).length).toBe(filter.length * 16);
    expect(filter.length).toBeLessThan(4096);
  });
});

describe("the default seccomp filter the build carries", () => {
  test("is exactly what the compiler makes for docker's default capabilities; other sets are compiled", async () => {
    const { filterFor } = await import("../../src/spec/seccomp/default");
    const { compileFilter, encodeFilter } = await import("../../src/spec/seccomp/filter");
    const { DEFAULT_CAPABILITIES } = await import("../../src/spec/capabilities");
    expect(filterFor([...DEFAULT_CAPABILITIES].reverse())).toBe(encodeFilter(compileFilter(DEFAULT_CAPABILITIES)));
    expect(filterFor(["SYS_ADMIN"])).toBe(encodeFilter(compileFilter(["SYS_ADMIN"])));
    expect(filterFor(["SYS_ADMIN"])).not.toBe(filterFor(DEFAULT_CAPABILITIES));
  });
});
