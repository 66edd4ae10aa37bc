/**
 * Restart policies (helper/restart.c): a detached container's supervisor starts it again when its
 * command ends, as docker's --restart says, with docker's back-off (100 ms, doubled each time,
 * capped at a minute), and never after a person stopped it: box stop's SIGTERM to the supervisor,
 * or the stopped file box stop and box kill make. Each run records how it ended in the exit file
 * ("status oom ms restarts"), and the pidfile names the running init and the restarts so far.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { detect } from "../../src/cgroup/detect";
import { createCgroup } from "../../src/cgroup/setup";
import type { SpecInput } from "../../src/spec/build";
import { encodePlan, planRecords, type PlanRecord } from "../../src/spec/plan";
import { inNetns, inNs } from "../net/netns";
import { HELPER } from "./helper";
import { cleanUpAfterEach, plan, prepare, spec, start, stop, supervisor, until, type Container } from "./run";

const made = cleanUpAfterEach();

type Policy = NonNullable<SpecInput["restart"]>;

function restartPlan(c: Container, args: string[], restart: Policy, more: Partial<SpecInput> = {}): Uint8Array {
  return plan(c, args, {
    detach: { id: "", log: join(c.dir, "log"), logCap: 1 << 20, logFormat: "k8s-file" },
    restart,
    stoppedFile: join(c.dir, "stopped"),
    ...more,
  });
}

/** The log's records of one line, with their times in ms. */
function runs(c: Container, line = "run"): number[] {
  const log = join(c.dir, "log");
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8").split("\n").filter((l) => l.endsWith(` stdout F ${line}`)).map((l) => {
    const [stamp] = l.split(" ");
    const ns = Number(stamp!.slice(20, 29));
    return Date.parse(stamp!.slice(0, 19) + "Z") + ns / 1e6;
  });
}

function exitFields(c: Container): string[] | undefined {
  return existsSync(c.exitFile) ? readFileSync(c.exitFile, "utf8").trim().split(" ") : undefined;
}

/** The gaps between runs are at least docker's back-off: 100, 200, 400, ... ms (less a little slack). */
function expectBackoff(times: number[]): void {
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100 * 2 ** (i - 1) * 0.9);
}

describe("helper: restart policies", () => {
  test("on-failure:3 with exit 1: started again exactly 3 times, after 100, 200 and 400 ms", async () => {
    const c = (made.current = await prepare());
    expect((await start(restartPlan(c, ["sh", "-c", "echo run; exit 1"], { name: "on-failure", maximumRetryCount: 3 }))).code).toBe(0);
    const sup = supervisor(c)!;
    await until(() => !existsSync(`/proc/${sup}`), 10_000);
    await stop(c);
    const times = runs(c);
    expect(times.length).toBe(4);
    expectBackoff(times);
    const [status, oom, , restarts] = exitFields(c)!;
    expect({ status, oom, restarts }).toEqual({ status: "1", oom: "0", restarts: "3" });
    expect(existsSync(c.pidFile)).toBe(false);
  });

  test("on-failure stops once the command succeeds", async () => {
    const c = (made.current = await prepare());
    const script = "echo run; [ -e /ran ] && exit 0; touch /ran; exit 3";
    expect((await start(restartPlan(c, ["sh", "-c", script], { name: "on-failure", maximumRetryCount: 0 }))).code).toBe(0);
    await until(() => !existsSync(c.pidFile), 5000);
    await stop(c);
    expect(runs(c).length).toBe(2);
    expect(exitFields(c)!.filter((_, i) => i !== 2)).toEqual(["0", "0", "1"]);
  });

  test("always, with a command that exits 0: started again until SIGTERM reaches the supervisor (box stop), which ends it at once", async () => {
    const c = (made.current = await prepare());
    expect((await start(restartPlan(c, ["sh", "-c", "echo run"], { name: "always", maximumRetryCount: 0 }))).code).toBe(0);
    const sup = supervisor(c)!;
    expect(await until(() => runs(c).length >= 4, 5000)).toBe(true);
    // While it runs again, the pidfile names the new init and counts the restarts.
    const pid = readFileSync(c.pidFile, "utf8").trim().split(" ");
    expect(pid).toHaveLength(5);
    expect(Number(pid[4])).toBeGreaterThanOrEqual(3);
    const asked = Date.now();
    process.kill(sup, "SIGTERM");
    await stop(c);
    expect(Date.now() - asked).toBeLessThan(1000);
    const count = runs(c).length;
    expectBackoff(runs(c));
    await Bun.sleep(1000);
    expect(runs(c).length).toBe(count);
    const [status, , , restarts] = exitFields(c)!;
    expect(Number(restarts)).toBe(count - 1);
    expect(["0", "143"]).toContain(status!);
    expect(existsSync(c.pidFile)).toBe(false);
  });

  test("always: killed while it runs after box kill made the stopped file, it stays stopped", async () => {
    const c = (made.current = await prepare());
    expect((await start(restartPlan(c, ["sh", "-c", "echo run; exec sleep 30"], { name: "always", maximumRetryCount: 0 }))).code).toBe(0);
    expect(await until(() => runs(c).length === 1)).toBe(true);
    writeFileSync(join(c.dir, "stopped"), "");
    const init = Number(readFileSync(c.pidFile, "utf8").split(" ")[2]);
    process.kill(init, "SIGKILL");
    await stop(c);
    expect(runs(c).length).toBe(1);
    expect(exitFields(c)!.filter((_, i) => i !== 2)).toEqual(["137", "0", "0"]);
  });

  test("a run that lasted the reset time starts the back-off over (here 300 ms instead of 10 s)", async () => {
    const c = (made.current = await prepare());
    const records = planRecords(spec(c, ["sh", "-c", "echo run; sleep 0.4; exit 1"], {
      detach: { id: "", log: join(c.dir, "log"), logCap: 1 << 20, logFormat: "k8s-file" },
      restart: { name: "on-failure", maximumRetryCount: 4 },
    })).map((r): PlanRecord => (r[0] === "restart" ? ["restart", "on-failure", "4", "100", "60000", "300"] : r));
    expect((await start(encodePlan(records))).code).toBe(0);
    await until(() => !existsSync(c.pidFile), 10_000);
    await stop(c);
    const times = runs(c);
    expect(times.length).toBe(5);
    // Each gap is the run (400 ms) and the first back-off (100 ms), and a start: never a doubled
    // back-off, which would make the third and fourth gaps 800 and 1200 ms.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(750);
  });

  const host = detect();
  test.skipIf(host.mode === "v2")("a fork bomb, or an OOM kill, does not make it start again any sooner than the back-off", async () => {
    const c = (made.current = await prepare());
    const cg = createCgroup(host, `box-restart-test-${process.pid}`, { pids: 20, memory: 16 << 20 }, `box-test-restart-${process.pid}`);
    made.cgroupDirs = [...new Set(cg.dirs.map((d) => dirname(d))), ...cg.dirs];
    const oom = cg.oom ? { file: cg.oom.file, killed: "out of memory", other: "out of memory elsewhere" } : undefined;
    // Odd runs are a fork bomb, even ones a memory hog the OOM killer ends.
    const script = "echo run; if [ -e /odd ]; then rm /odd; head -c 64m /dev/zero | tail; else touch /odd; f() { f | f & }; f; sleep 0.2; fi";
    const bytes = restartPlan(c, ["sh", "-c", script], { name: "always", maximumRetryCount: 0 }, { cgroup: { procs: cg.procs, dirs: cg.dirs, mounts: cg.mounts, oom } });
    expect((await start(bytes)).code).toBe(0);
    await Bun.sleep(2500);
    process.kill(supervisor(c)!, "SIGTERM");
    await stop(c);
    const times = runs(c);
    // 100 + 200 + 400 + 800 ms of back-off fit in 2.5 s, the next (1.6 s) does not.
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.length).toBeLessThanOrEqual(5);
    expectBackoff(times);
    expect(readFileSync(join(c.dir, "log"), "utf8")).toContain(" stderr F box: out of memory\n");
  });

  test("each run gets a new veth, eth0 with the same MAC and address", () =>
    inNetns(async (ns) => {
      const c = (made.current = await prepare());
      const mac = "02:42:0a:58:00:09";
      const bytes = restartPlan(c, ["sh", "-c", "echo run; cat /sys/class/net/eth0/address; ip -4 -o addr show eth0 | cut -d' ' -f7; exit 1"], { name: "on-failure", maximumRetryCount: 2 }, {
        network: "bridge",
        bridge: { bridge: "box0", gatewayCidr: "10.88.0.1/24", hostVeth: "vbrestart", addressCidr: "10.88.0.9/24", gateway: "10.88.0.1", mac },
      });
      const r = await inNs(ns, [HELPER, "--plan-fd", "0"], { stdin: bytes });
      expect(r.code).toBe(0);
      await until(() => !existsSync(c.pidFile), 10_000);
      await stop(c);
      expect(runs(c).length).toBe(3);
      expect(runs(c, mac).length).toBe(3);
      expect(runs(c, "10.88.0.9/24").length).toBe(3);
      expect((await inNs(ns, ["ip", "-o", "link", "show", "vbrestart"])).code).not.toBe(0);
    }));
});
