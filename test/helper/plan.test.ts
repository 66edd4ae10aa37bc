// The helper's plan reader is strict: anything it does not understand stops it before any step.
import { describe, expect, test } from "bun:test";
import { encodePlan, type PlanRecord } from "../../src/spec/plan";
import { HELPER, raw } from "./helper";

async function feed(plan: Uint8Array, args = ["--plan-fd", "0"]): Promise<{ code: number; stderr: string }> {
  const proc = Bun.spawn([HELPER, ...args], { stdin: new Blob([plan]), stdout: "pipe", stderr: "pipe" });
  const stderr = await new Response(proc.stderr).text();
  return { code: await proc.exited, stderr };
}

const process: PlanRecord[] = [
  ["argv", "true"], ["env"], ["path", "/bin"], ["cwd", "/"], ["user", "0", "0"], ["umask", "022"],
  ["caps", "0", "0", "0", "0", "0"], ["tty", "0"], ["stdin", "0"],
];
const minimal: PlanRecord[] = [["ns", "mount"], ["rootfs", "/nonexistent"], ...process];
const without = (key: string) => minimal.filter((r) => r[0] !== key);
const replaced = (record: PlanRecord) => [...without(record[0]), record];

describe("helper: reading the plan", () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ["a wrong magic", raw("NOTPLAN\x002\x00"), "box: the plan does not start with BOXPLAN"],
    ["another version", raw("BOXPLAN\x001\x00"), "box: the plan has version '1', this helper reads version 2"],
    ["an unknown record", encodePlan([["frobnicate", "x"], ...minimal]), "box: the plan has an unknown record 'frobnicate'"],
    ["a repeated record", encodePlan([...minimal, ["cwd", "/tmp"]]), "box: the plan repeats the record 'cwd'"],
    ["too few fields", encodePlan([["device", "/dev/null", "/dev/null", "1"], ...minimal]), "box: the plan's record 'device' has a bad field count '3'"],
    ["a seccomp program that is not whole instructions", encodePlan([["seccomp", "abcd"], ...minimal]), "box: the plan's seccomp program has a bad length"],
    ["a seccomp program that is not hex", encodePlan([["seccomp", "zz".repeat(8)], ...minimal]), "box: the plan's seccomp program is not hex"],
    ["too many fields", encodePlan([["rootfs", "/a", "/b"]]), "box: the plan's record 'rootfs' has a bad field count '2'"],
    ["a hex number", encodePlan(replaced(["user", "0x1", "0"])), "box: the plan's record 'user' holds a malformed number '0x1'"],
    ["a negative number", encodePlan(replaced(["user", "-1", "0"])), "box: the plan's record 'user' holds a malformed number '-1'"],
    ["a number with a leading zero", encodePlan(replaced(["user", "01", "0"])), "box: the plan's record 'user' holds a malformed number '01'"],
    ["a uid out of range", encodePlan(replaced(["user", "4294967295", "0"])), "box: the plan's record 'user' holds a malformed number '4294967295'"],
    ["a mode that is not octal", encodePlan([["mkdir", "/x", "789"], ...minimal]), "box: the plan's record 'mkdir' holds a malformed number '789'"],
    ["unknown mount flags", encodePlan([["mount", "", "/x", "tmpfs", String(1 << 30), ""], ...minimal]), "box: the plan's record 'mount' holds unknown mount flags 1073741824"],
    ["a device number out of range", encodePlan([["device", "/dev/null", "/dev/null", "4096", "3"], ...minimal]), "box: the plan's record 'device' holds a malformed number '4096'"],
    ["an unknown capability", encodePlan(replaced(["caps", "8000000000000000", "0", "0", "0", "0"])), "box: the plan's record 'caps' holds unknown capabilities 8000000000000000"],
    ["an upper-case hex mask", encodePlan(replaced(["caps", "A", "0", "0", "0", "0"])), "box: the plan's record 'caps' holds a malformed number 'A'"],
    ["a flag that is not 0 or 1", encodePlan(replaced(["tty", "2"])), "box: the plan's record 'tty' holds a malformed number '2'"],
    ["a malformed address", encodePlan([["bridge", "box0", "10.88.0.300/24"], ...minimal]), "box: the plan's record 'bridge' holds a malformed address '10.88.0.300'"],
    ["a prefix out of range", encodePlan([["bridge", "box0", "10.88.0.1/33"], ...minimal]), "box: the plan's record 'bridge' holds a malformed number '33'"],
    ["an unknown log format", encodePlan([...minimal, ["detach", "id"], ["log", "/l", "10", "640", "json"]]), "box: the plan's record 'log' names an unknown format 'json'"],
    ["a log without detach", encodePlan([...minimal, ["log", "/l", "10", "640", "raw"]]), "box: the plan's records 'detach' and 'log' go together"],
    ["a veth without its address", encodePlan([...minimal, ["bridge", "box0", "10.88.0.1/24"], ["veth", "vb1", "box0", "eth0"]]), "box: the plan's records 'veth', 'ip' and 'bridge' go together"],
    ["two names for the container's interface", encodePlan([...minimal, ["veth", "vb1", "box0", "eth0"], ["ip", "eth1", "10.88.0.2/24", "10.88.0.1"]]), "box: the plan's records 'veth' and 'ip' name different interfaces"],
    ["an unknown namespace", encodePlan(replaced(["ns", "frobs"])), "box: the plan names an unknown namespace 'frobs'"],
    ["a relative rootfs", encodePlan(replaced(["rootfs", "rel"])), "box: the plan's record 'rootfs' holds 'rel', which is not an absolute path"],
    ["a relative mount target", encodePlan([["mount", "proc", "proc", "proc", "0", ""], ...minimal]), "box: the plan's record 'mount' holds 'proc', which is not an absolute path"],
    ["a missing rootfs", encodePlan(without("rootfs")), "box: the plan lacks the record 'rootfs'"],
    ["a missing search path", encodePlan(without("path")), "box: the plan lacks the record 'path'"],
    ["a run record in an exec plan", encodePlan([["join", "100", "5"], ...minimal]), "box: the plan's record 'ns' does not belong in an exec plan"],
    ["a join of pid 1", encodePlan([["join", "1", "5"], ...process]), "box: the plan's record 'join' names pid 1"],
    ["too many cgroups", encodePlan([...minimal, ...Array.from({ length: 17 }, (_, i): PlanRecord => ["cgroup", `/c${i}`])]), "box: the plan has more than 16 'cgroup' records"],
    ["a delete_link plan with more", encodePlan([["delete_link", "box0"], ["argv", "x"]]), "box: the plan's record 'argv' does not belong in a delete_link plan"],
    ["a resource limit the kernel does not have", encodePlan([...minimal, ["rlimit", "16", "1", "1"]]), "box: the plan's record 'rlimit' holds a malformed number '16'"],
    ["a soft limit above the hard one", encodePlan([...minimal, ["rlimit", "7", "unlimited", "10"]]), "box: the plan's record 'rlimit' holds a soft limit above the hard one for limit 7"],
    ["a limit set twice", encodePlan([...minimal, ["rlimit", "7", "1", "1"], ["rlimit", "7", "2", "2"]]), "box: the plan's record 'rlimit' sets limit 7 twice"],
    ["a limit the kernel reads as unlimited", encodePlan([...minimal, ["rlimit", "7", "1", "18446744073709551615"]]), "box: the plan's record 'rlimit' holds a malformed number '18446744073709551615'"],
    ["a sysctl outside /proc/sys", encodePlan([...minimal, ["sysctl_in", "net/../../self/mem", "1"]]), "box: the plan's record 'sysctl_in' holds 'net/../../self/mem', which is not a path under /proc/sys"],
    ["an absolute sysctl path", encodePlan([...minimal, ["sysctl_in", "/proc/sys/kernel/msgmax", "1"]]), "box: the plan's record 'sysctl_in' holds '/proc/sys/kernel/msgmax', which is not a path under /proc/sys"],
    ["a malformed MAC address", encodePlan([...minimal, ["bridge", "box0", "10.88.0.1/24", "02:42:0A:58:00:01"]]), "box: the plan's record 'bridge' holds a malformed MAC address '02:42:0A:58:00:01'"],
    ["an overlay layer with ':'", encodePlan([...minimal, ["overlay", "4", "/m", "/u", "/w", "/l/a:b"]]), "box: the plan's record 'overlay' holds a layer '/l/a:b' whose name has ':' or ','"],
    ["an overlay without layers", encodePlan([...minimal, ["overlay", "4", "/m", "/u", "/w"]]), "box: the plan's record 'overlay' has a bad field count '4'"],
    ["a caller attached to no console", encodePlan([...minimal, ["detach", ""], ["log", "/l", "10", "640", "raw"], ["attached", "1011"]]), "box: the plan's record 'attached' needs 'detach' and 'console'"],
    ["detach keys that are not hex", encodePlan([["attach", "/r/c.attach", "zz", "1", "1"]]), "box: the plan's record 'attach' holds detach keys that are not hex"],
    ["too many detach keys", encodePlan([["attach", "/r/c.attach", "10".repeat(17), "1", "1"]]), "box: the plan's record 'attach' holds detach keys of a bad length"],
    ["a run record in an attach plan", encodePlan([["attach", "/r/c.attach", "", "0", "0"], ["argv", "x"]]), "box: the plan's record 'argv' does not belong in an attach plan"],
    ["a restart without detach", encodePlan([...minimal, ["restart", "always", "0", "100", "60000", "10000"]]), "box: the plan's record 'restart' needs 'detach': only a supervisor of its own can start a container again"],
    ["an unknown restart policy", encodePlan([...minimal, ["restart", "sometimes", "0", "100", "60000", "10000"]]), "box: the plan's record 'restart' names an unknown policy 'sometimes'"],
    ["a body cut short", raw("BOXPLAN\x002\x00argv\x003\x00a\x00"), "box: the plan's record 'argv' is cut short"],
    ["no final NUL", raw("BOXPLAN\x002\x00argv"), "box: the plan does not end with a NUL"],
    ["an oversized length", Buffer.from([0xff, 0xff, 0xff, 0x7f]), "box: the plan's length 2147483647 is out of range"],
    ["a truncated stream", Buffer.from([0x40, 0, 0, 0, 0x42]), "box: the plan ends before its 64 bytes"],
    ["no plan at all", new Uint8Array(), "box: there is no plan on fd 0"],
  ];
  for (const [what, plan, message] of cases) {
    test(`refuses ${what} with exit 125`, async () => {
      const r = await feed(plan);
      expect(r.stderr).toBe(message + "\n");
      expect(r.code).toBe(125);
      // --check reads with the same reader, and refuses the same way.
      const checked = await feed(plan, ["--check", "--plan-fd", "0"]);
      expect(checked).toEqual(r);
    });
  }

  test("refuses to start without --plan-fd, or with a malformed one", async () => {
    for (const args of [[], ["--plan-fd"], ["--plan-fd", "x"], ["--check"], ["--plan-fd", "0", "--check"]]) {
      const r = await feed(new Uint8Array(), args);
      expect({ args, code: r.code }).toEqual({ args, code: 125 });
      expect(r.stderr).toContain("started by box, not by hand");
    }
  });
});
