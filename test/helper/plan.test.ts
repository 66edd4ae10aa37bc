// The helper's plan reader is strict: anything it does not understand stops it before any step.
import { describe, expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { encodePlan, type PlanRecord } from "../../src/spec/plan";

const HELPER = join(resolve(import.meta.dir, "../.."), "zig-out/bin/box-helper");

async function feed(plan: Uint8Array, args = ["--plan-fd", "0"]): Promise<{ code: number; stderr: string }> {
  const proc = Bun.spawn([HELPER, ...args], { stdin: new Blob([plan]), stdout: "pipe", stderr: "pipe" });
  const stderr = await new Response(proc.stderr).text();
  return { code: await proc.exited, stderr };
}

const minimal: PlanRecord[] = [["rootfs", "/nonexistent"], ["argv", "true"], ["env"], ["cwd", "/"], ["user", "0", "0"]];

function raw(body: string): Uint8Array {
  const b = Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32LE(b.length, 0);
  b.copy(out, 4);
  return out;
}

describe("helper: reading the plan", () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ["a wrong magic", raw("NOTPLAN\x001\x00"), "box: the plan does not start with BOXPLAN"],
    ["another version", raw("BOXPLAN\x002\x00"), "box: the plan has version '2', this helper reads version 1"],
    ["an unknown record", encodePlan([["frobnicate", "x"], ...minimal]), "box: the plan has an unknown record 'frobnicate'"],
    ["a repeated record", encodePlan([...minimal, ["cwd", "/tmp"]]), "box: the plan repeats the record 'cwd'"],
    ["too few fields", encodePlan([["device", "/dev/null", "/dev/null", "1"], ...minimal]), "box: the plan's record 'device' has a bad field count '3'"],
    ["a seccomp program that is not whole instructions", encodePlan([["seccomp", "abcd"], ...minimal]), "box: the plan's seccomp program has a bad length"],
    ["a seccomp program that is not hex", encodePlan([["seccomp", "zz".repeat(8)], ...minimal]), "box: the plan's seccomp program is not hex"],
    ["too many fields", encodePlan([["rootfs", "/a", "/b"]]), "box: the plan's record 'rootfs' has a bad field count '2'"],
    ["a malformed number", encodePlan([...minimal.slice(0, 4), ["user", "0x1", "0"]]), "box: the plan holds a malformed number '0x1'"],
    ["a negative number", encodePlan([...minimal.slice(0, 4), ["user", "-1", "0"]]), "box: the plan holds a malformed number '-1'"],
    ["an unknown namespace", encodePlan([["ns", "time"], ...minimal]), "box: the plan names an unknown namespace 'time'"],
    ["a relative rootfs", encodePlan([["rootfs", "rel"]]), "box: the plan's rootfs 'rel' is not an absolute path"],
    ["a missing required record", encodePlan(minimal.slice(0, 4)), "box: the plan lacks rootfs, argv, env, cwd or user"],
    ["a body cut short", raw("BOXPLAN\x001\x00argv\x003\x00a\x00"), "box: the plan's record 'argv' is cut short"],
    ["no final NUL", raw("BOXPLAN\x001\x00argv"), "box: the plan does not end with a NUL"],
    ["an oversized length", Buffer.from([0xff, 0xff, 0xff, 0x7f]), "box: the plan's length 2147483647 is out of range"],
    ["a truncated stream", Buffer.from([0x40, 0, 0, 0, 0x42]), "box: the plan ends before its 64 bytes"],
    ["no plan at all", new Uint8Array(), "box: there is no plan on fd 0"],
  ];
  for (const [what, plan, message] of cases) {
    test(`refuses ${what} with exit 125`, async () => {
      const r = await feed(plan);
      expect(r.stderr).toBe(message + "\n");
      expect(r.code).toBe(125);
    });
  }

  test("refuses to start without --plan-fd", async () => {
    const r = await feed(new Uint8Array(), []);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("started by box, not by hand");
  });
});
