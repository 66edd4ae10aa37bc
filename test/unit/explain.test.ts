/**
 * --explain's words (src/explain/), without root: every step the helper and the front end trace has
 * a sentence (a new TRACE without one fails here), raw lines are read strictly and shown safely,
 * and the relay puts the helper's steps on the front end's time line.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseStep, render, untoken } from "../../src/explain/line";
import { Relay } from "../../src/explain/relay";
import { actionWords, explainStep, knows, newContext } from "../../src/explain/words";
import { compileFilter, encodeFilter } from "../../src/spec/seccomp/filter";
import { summarizeFilter } from "../../src/spec/seccomp/summary";
import { DEFAULT_CAPABILITIES } from "../../src/spec/capabilities";

const TOP = resolve(import.meta.dir, "../..");

function sources(dir: string, ext: string): Array<[string, string]> {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).filter((f) => f.endsWith(ext)).map((f) => [f, readFileSync(join(dir, f), "utf8")]);
}

describe("explain: a sentence for every traced step", () => {
  test("every TRACE of the helper", () => {
    const whats = new Set<string>();
    for (const [, text] of sources(join(TOP, "helper"), ".c")) {
      for (const m of text.matchAll(/TRACE\("\w+", "([a-z_-]+)"/g)) whats.add(m[1]!);
      for (const m of text.matchAll(/trace_mount\("\w+", "([a-z_-]+)"/g)) whats.add(m[1]!);
    }
    // rootfs.c's steps inside the root, named by kind.
    const kinds = /names\[\] = \{([^}]+)\}/.exec(readFileSync(join(TOP, "helper/rootfs.c"), "utf8"))![1]!.match(/"([a-z-]+)"/g)!.map((k) => k.slice(1, -1));
    for (const k of kinds) whats.add(k);
    expect(whats.size).toBeGreaterThan(25);
    expect([...whats].filter((what) => !knows("container", what))).toEqual([]);
  });

  test("every trace() of the front end", () => {
    const whats = new Set<string>();
    for (const [, text] of sources(join(TOP, "src"), ".ts")) for (const m of text.matchAll(/\btrace\("[\w./-]+:\w+", "([a-z_-]+)"/g)) whats.add(m[1]!);
    expect(whats.size).toBeGreaterThan(10);
    expect([...whats].filter((what) => !knows("front", what))).toEqual([]);
  });
});

describe("explain: reading raw lines", () => {
  test("the helper's format, with a key that repeats (namespaces: the pid, then the pid namespace)", () => {
    const s = parseStep("764 supervisor host.c:3 namespaces pid=6970 mnt=4026532399 uts=4026532400 ipc=4026532401 net=4026532403 pid=4026532402 cgroup=4026531835")!;
    expect(s).toMatchObject({ usec: 764, role: "supervisor", file: "host.c", step: "3", what: "namespaces" });
    expect(s.fields.pid).toBe("6970");
    const text = explainStep(s, newContext({ cgroup: "4026531835", mnt: "4026531840" }))!;
    expect(text).toBe("its namespaces, as ls -l /proc/6970/ns shows them: mnt:[4026532399] uts:[4026532400] ipc:[4026532401] net:[4026532403] pid:[4026532402] cgroup:[4026531835] (still the host's)");
  });

  test("tokens back to text; anything else is not a step", () => {
    expect(untoken('""')).toBe("");
    expect(untoken("a\\x20b\\x5cc")).toBe("a b\\c");
    const mount = parseStep('12254 container rootfs.c:6 mount source=proc target=/proc type=proc flags=nosuid,nodev,noexec data=""')!;
    expect(explainStep(mount, newContext())).toBe("mount proc on /proc, type proc, flags nosuid,nodev,noexec");
    for (const bad of ["", "x supervisor a.c:1 start", "1 supervisor a.c:1 start \x1b[2J=x", "1 Supervisor a.c:1 start", `1 supervisor a.c:1 start k=${"v".repeat(5000)} x`]) {
      expect(parseStep(bad)).toBeUndefined();
    }
  });

  test("what the container could write is shown escaped, never sent raw to a terminal", () => {
    const out: string[] = [];
    const relay = new Relay(0n, newContext(), (t) => out.push(t));
    relay.line("1 init container.c:10 fork command-pid=\x1b]0;owned\x07");
    relay.line('5 container rootfs.c:6 mask path=/proc/\\x1b[2Jx');
    expect(out.join("\n")).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(out[1]).toContain("mask /proc/\\x1b[2Jx");
  });
});

describe("explain: one time line", () => {
  test("the helper's usec are placed after its origin on CLOCK_MONOTONIC, counted from box's start", () => {
    const out: string[] = [];
    const relay = new Relay(1_000_000n, newContext(), (t) => out.push(t));
    relay.line("0 supervisor trace.c:0 start monotonic-us=1050000");
    relay.line("1500 supervisor supervise.c:3 clone pid=42 in-cgroup=1");
    expect(out[0]).toMatch(/^box +50\.00 ms  helper\/trace\.c:0 +supervisor the helper runs/);
    expect(out[1]).toMatch(/^box +51\.50 ms  helper\/supervise\.c:3 +supervisor clone\(\) with CLONE_NEW\* flags: the container's first process, pid 42 here and PID 1 in its new PID namespace, born in its cgroup \(CLONE_INTO_CGROUP\)$/);
  });

  test("lines end in \\r\\n when a terminal may be in raw mode", () => {
    expect(render(1234, "src/cli.ts:1", "front", "x", true)).toEndWith(" x\r\n");
    expect(render(1234, "src/cli.ts:1", "front", "x")).toBe(`box     1.23 ms  ${"src/cli.ts:1".padEnd(30)} box        x\n`);
  });
});

describe("explain: what the front end adds", () => {
  test("the seccomp filter's size and default action, read from the filter the plan carries", () => {
    const program = compileFilter([...DEFAULT_CAPABILITIES]);
    const s = summarizeFilter(encodeFilter(program));
    expect(s).toEqual({ instructions: program.length, default: "errno(1)" });
    expect(actionWords(s.default)).toBe("EPERM (the call fails, the process goes on)");
  });

  test("capabilities kept and dropped; the address and route carried over to the helper's lines", () => {
    const ctx = newContext();
    const caps = parseStep("1 command command.c:g capabilities bounding=CHOWN,KILL effective=CHOWN,KILL permitted=CHOWN,KILL inheritable=none ambient=none")!;
    const text = explainStep(caps, ctx)!;
    expect(text).toStartWith("capabilities kept (bounding, effective, permitted): CHOWN KILL; dropped: DAC_OVERRIDE DAC_READ_SEARCH FOWNER");
    expect(text).toContain(" SYS_ADMIN ");
    explainStep({ usec: 1, role: "front", file: "container/start.ts", step: "2", what: "address", fields: { address: "10.88.0.7/24", gateway: "10.88.0.1", bridge: "box0", "host-veth": "vb1" }, pairs: [] }, ctx);
    expect(explainStep(parseStep("9 container container.c:7 address if=eth0 prefix=24 default-route=yes")!, ctx)).toBe("loopback up; eth0 up with 10.88.0.7/24, default route via 10.88.0.1 (netlink, no ip command needed)");
  });
});
