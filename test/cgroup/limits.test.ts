// Limits through cgroups, on this host's layout (v1 hybrid here; test:vm runs them on pure v2).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { box, cgroupsOf, spawnBox, withRoot } from "../e2e/harness";

/** Inside the container: its cgroup's file for a controller, whatever the layout. */
const V = (v1: string, v2: string) => `$( [ -f /sys/fs/cgroup/cgroup.controllers ] && echo /sys/fs/cgroup/${v2} || echo /sys/fs/cgroup/${v1} )`;

describe("box run: limits", () => {
  test("the container sees its own cgroup as the root, read-only, with the default pids limit of 2048", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", `grep -c ':/$' /proc/self/cgroup; cat ${V("pids/pids.max", "pids.max")}; touch /sys/fs/cgroup/x 2>&1; mkdir ${V("pids/escape", "escape")} 2>&1 | grep -c 'Read-only'`]);
      const [rootLines, pidsMax, touch, mkdir] = r.stdout.trim().split("\n");
      expect(Number(rootLines)).toBeGreaterThan(0);
      expect(pidsMax).toBe("2048");
      expect(touch).toContain("Read-only file system");
      expect(mkdir).toBe("1");
    }));

  test("a fork bomb under --pids-limit 20 fails to fork, and the container ends on its own", () =>
    withRoot(async (root) => {
      // An inner shell starts sleepers until fork fails (and it gives up); the outer one looks.
      const r = await box(root, ["run", "--pids-limit", "20", "sh", "-c", `sh -c 'for i in $(seq 1 60); do sleep 30 & done' 2>/dev/null; cat ${V("pids/pids.current", "pids.current")}; cat ${V("pids/pids.events", "pids.events")}; timeout 3 sh -c 'f() { f | f & }; f' 2>/dev/null; echo ended`], { timeoutMs: 20_000 });
      const [current, events] = r.stdout.trim().split("\n");
      expect(Number(current)).toBeLessThanOrEqual(20);
      expect(events).toMatch(/^max [1-9]\d*$/);
      expect(r.stdout).toContain("ended");
      expect(r.code).toBe(0);
      // withRoot: no process of it remains, and its cgroup is gone.
    }));

  test("a memory hog under -m 32m is killed, and box says so: exit 137", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-m", "32m", "tail", "/dev/zero"], { timeoutMs: 30_000 });
      expect(r.code).toBe(137);
      expect(r.stderr).toBe("box: out of memory: the container reached its memory limit of 32 MiB and the kernel killed tail\n");
      const limit = await box(root, ["run", "-m", "64m", "sh", "-c", `cat ${V("memory/memory.limit_in_bytes", "memory.max")}`]);
      expect(limit.stdout).toBe(`${64 * 1024 * 1024}\n`);
    }));

  test("--cpus 0.5: a busy loop for 2 s uses between 0.3 and 0.7 CPU-seconds per second", () =>
    withRoot(async (root) => {
      // CPU time from the cgroup's own accounting: cpuacct.usage (ns) on v1, cpu.stat usage_usec on v2.
      const usage = `$( [ -f /sys/fs/cgroup/cpu.stat ] && echo $(( $(grep usage_usec /sys/fs/cgroup/cpu.stat | cut -d' ' -f2) * 1000 )) || cat /sys/fs/cgroup/cpuacct/cpuacct.usage )`;
      // Wall time from /proc/uptime (seconds, two decimals); the result is CPU per wall time, in thousandths.
      const script = `a=${usage}; s=$(cut -d' ' -f1 /proc/uptime); timeout 2 sh -c 'while :; do :; done'; e=$(cut -d' ' -f1 /proc/uptime); b=${usage}; awk -v a=$a -v b=$b -v s=$s -v e=$e 'BEGIN { printf "%d\\n", (b - a) / ((e - s) * 1e6) }'`;
      const r = await box(root, ["run", "--cpus", "0.5", "sh", "-c", script], { timeoutMs: 20_000 });
      const permille = Number(r.stdout.trim());
      expect(permille).toBeGreaterThanOrEqual(300);
      expect(permille).toBeLessThanOrEqual(700);
    }));

  test("--cpu-shares and --cpu-weight reach the cgroup", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--cpu-shares", "512", "sh", "-c", `cat ${V("cpu/cpu.shares", "cpu.weight")}`]);
      expect(["512", "20"]).toContain(r.stdout.trim()); // v1 shares, or the same as a v2 weight (runc's conversion)
    }));

  test("nonsense limits get a clear error and exit 125, leaving nothing", () =>
    withRoot(async (root) => {
      const cases: Array<[string[], string]> = [
        [["--pids-limit", "0"], 'box: invalid --pids-limit "0": give a whole number from 1 to 4194304'],
        [["--pids-limit", "many"], 'box: invalid --pids-limit "many": give a whole number from 1 to 4194304'],
        [["--memory", "abc"], 'box: invalid --memory "abc": give a size such as 64m or 1g'],
        [["-m", "1k"], 'box: invalid --memory "1k": the minimum is 6m'],
        [["--memory-swap", "1g"], "box: --memory-swap needs --memory"],
        [["-m", "64m", "--memory-swap", "32m"], 'box: invalid --memory-swap "32m": it is memory plus swap, so at least --memory'],
        [["--cpus", "-1"], `box: invalid --cpus "-1": give a number of CPUs from 0.01 to ${navigator.hardwareConcurrency}`],
        [["--cpus", "999"], `box: invalid --cpus "999": give a number of CPUs from 0.01 to ${navigator.hardwareConcurrency}`],
        [["--cpu-shares", "1"], 'box: invalid --cpu-shares "1": give a whole number from 2 to 262144'],
        [["--cpu-shares", "100", "--cpu-weight", "100"], "box: give --cpu-shares or --cpu-weight, not both"],
      ];
      for (const [flags, message] of cases) {
        const r = await box(root, ["run", ...flags, "true"]);
        expect({ flags, code: r.code, err: r.stderr }).toEqual({ flags, code: 125, err: message + "\n" });
      }
    }));

  test("the cgroup goes when the container ends, also after kill -9 of box (the next command collects it)", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "-m", "64m", "sh", "-c", "echo ready; exec sleep 30"]);
      const reader = proc.stdout.getReader();
      await reader.read();
      // Its cgroups exist, under the test's parent, before box is killed.
      const made = cgroupsOf(root);
      expect(made.length).toBeGreaterThan(0);
      expect(made.every((dir) => existsSync(join(dir, "cgroup.procs")))).toBe(true);
      proc.kill("SIGKILL");
      await proc.exited;
      // The next box command removes the killed one's cgroup (withRoot checks that none remains).
      expect((await box(root, ["run", "true"])).code).toBe(0);
    }));
});
