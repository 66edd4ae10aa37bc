// box logs: each stream back on its own, timestamps, time windows, and -f across rotations.
import { describe, expect, test } from "bun:test";
import { box, withRoot } from "../e2e/harness";

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await Bun.sleep(25);
  }
  return true;
}

describe("box logs", () => {
  test("stdout and stderr apart; -t shows when; --since and --until choose a window; partial lines kept whole", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--name", "w", "sh", "-c", "echo out1; echo err1 >&2; printf 'part'; sleep 0.2; echo ial; sleep 30"]);
      expect(r.code).toBe(0);
      expect(await until(async () => (await box(root, ["logs", "w"])).stdout.includes("partial"))).toBe(true);
      const logs = await box(root, ["logs", "w"]);
      expect(logs).toMatchObject({ stdout: "out1\npartial\n", stderr: "err1\n" });
      const stamped = await box(root, ["logs", "-t", "w"]);
      expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out1\n/);
      expect(stamped.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err1\n$/);
      expect((await box(root, ["logs", "--since", "1h", "w"])).stdout).toBe("out1\npartial\n");
      expect((await box(root, ["logs", "--since", String(Date.now() / 1000 + 60), "w"])).stdout).toBe("");
      expect((await box(root, ["logs", "--until", "2000-01-01T00:00:00Z", "w"])).stdout).toBe("");
      const bad = await box(root, ["logs", "--since", "yesterday-ish", "w"]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toMatch(/^box: invalid --since "yesterday-ish"/);
      expect((await box(root, ["rm", "-f", "w"])).code).toBe(0);
    }));

  test("--since and --until cut between two lines written a second apart (unix time and RFC 3339)", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "two", "sh", "-c", "echo one; sleep 1.2; echo two; sleep 30"]);
      expect(await until(async () => (await box(root, ["logs", "two"])).stdout === "one\ntwo\n")).toBe(true);
      const times = (await box(root, ["logs", "-t", "two"])).stdout.trim().split("\n").map((l) => Date.parse(l.split(" ")[0]!.replace(/(\.\d{3})\d*Z$/, "$1Z")));
      expect(times[1]! - times[0]!).toBeGreaterThan(1000);
      const mid = (times[0]! + times[1]!) / 2;
      expect((await box(root, ["logs", "--since", String(mid / 1000), "two"])).stdout).toBe("two\n");
      expect((await box(root, ["logs", "--until", String(mid / 1000), "two"])).stdout).toBe("one\n");
      expect((await box(root, ["logs", "--until", new Date(mid).toISOString(), "two"])).stdout).toBe("one\n");
      expect((await box(root, ["logs", "--since", new Date(mid).toISOString(), "--until", new Date(times[1]! + 1).toISOString(), "two"])).stdout).toBe("two\n");
      expect((await box(root, ["logs", "-n", "1", "two"])).stdout).toBe("two\n");
      expect((await box(root, ["rm", "-f", "two"])).code).toBe(0);
    }));

  test("logs -f loses no line and garbles none across many rotations", () =>
    withRoot(async (root) => {
      const n = 40000;
      // About 2 MB of records through a log rotated past 16 kB, a hundred rotations and more, while
      // a follower reads along: the generation it reads is not rotated away until it has it all.
      const r = await box(root, ["run", "-d", "--log-opt", "max-size=16k", "--name", "chatty", "sh", "-c", `sleep 0.5; i=1; while [ $i -le ${n} ]; do echo "line $i of ${n}"; i=$((i+1)); done`]);
      expect(r.code).toBe(0);
      const f = await box(root, ["logs", "-f", "chatty"], { timeoutMs: 120_000 });
      expect(f.code).toBe(0);
      const lines = f.stdout.split("\n").filter(Boolean);
      expect(lines.length).toBe(n);
      for (let i = 0; i < n; i++) if (lines[i] !== `line ${i + 1} of ${n}`) throw new Error(`line ${i + 1} is "${lines[i]}"`);
      expect((await box(root, ["rm", "chatty"])).code).toBe(0);
    }), 180_000);

  test("--log-opt: max-size only, at least 4k", () =>
    withRoot(async (root) => {
      for (const [opt, msg] of [
        ["max-file=3", 'unsupported log option "max-file=3"'],
        ["max-size=1k", 'invalid --log-opt max-size "1k": the minimum is 4k'],
        ["max-size=lots", "invalid --log-opt max-size"],
      ]) {
        const r = await box(root, ["run", "-d", "--log-opt", opt!, "true"]);
        expect(r.code).toBe(125);
        expect(r.stderr).toContain(msg!);
      }
    }));
});
