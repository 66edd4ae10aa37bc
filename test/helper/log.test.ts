/**
 * The log of a detached container, as the helper writes it (helper/log.c): CRI "k8s-file" records
 * that keep stdout and stderr apart and mark partial lines, rotation that never splits a record,
 * and a full disk that costs output, counted, but never the container.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { removeRoot, run } from "../e2e/harness";
import { exitStatus, plan, prepare, start, stop, until, type Container } from "./run";

const RECORD = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] [^\n]*$/;
let current: Container | undefined;
let mounted: string | undefined;

afterEach(async () => {
  if (current) await stop(current, "SIGKILL").catch(() => {});
  if (mounted) await run(["umount", mounted]);
  if (current) removeRoot(current.dir);
  current = mounted = undefined;
});

/** The log's records, the older part first, without their timestamps. */
function records(log: string): string[] {
  const text = (existsSync(`${log}.1`) ? readFileSync(`${log}.1`, "utf8") : "") + (existsSync(log) ? readFileSync(log, "utf8") : "");
  const lines = text.split("\n").slice(0, -1);
  for (const l of lines) expect(l).toMatch(RECORD);
  return lines.map((l) => l.slice(l.indexOf(" ") + 1));
}

describe("helper: the log of a detached container", () => {
  test("k8s-file: one record per line, stdout and stderr apart, a partial line marked P", async () => {
    const c = (current = await prepare());
    const log = join(c.dir, "log");
    const script = "echo out1; echo err1 >&2; printf partial; sleep 0.3; echo ' rest'; printf '\\n'; echo done";
    const r = await start(plan(c, ["sh", "-c", script], { detach: { id: "c0ffee", log, logCap: 1 << 20, logFormat: "k8s-file" } }));
    expect(r).toEqual({ code: 0, stdout: "c0ffee\n", stderr: "" });
    await stop(c);
    // Each stream in its order (between the two, the order is the supervisor's reading order).
    const all = records(log);
    expect(all.filter((r) => r.startsWith("stdout"))).toEqual(["stdout F out1", "stdout P partial", "stdout F  rest", "stdout F ", "stdout F done"]);
    expect(all.filter((r) => r.startsWith("stderr"))).toEqual(["stderr F err1"]);
    expect(exitStatus(c)).toBe("0");
  });

  test("rotation past the cap keeps every record whole: the newest records, consecutive, each file under the cap", async () => {
    const c = (current = await prepare());
    const log = join(c.dir, "log");
    const cap = 16384;
    const script = "i=0; while [ $i -lt 3000 ]; do echo \"line $i\"; i=$((i+1)); done; echo the-end";
    expect((await start(plan(c, ["sh", "-c", script], { detach: { id: "c", log, logCap: cap, logFormat: "k8s-file" } }))).code).toBe(0);
    await stop(c);
    expect(existsSync(`${log}.1`)).toBe(true);
    expect(statSync(log).size).toBeLessThanOrEqual(cap);
    expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(cap);
    const kept = records(log);
    expect(kept.at(-1)).toBe("stdout F the-end");
    const numbers = kept.slice(0, -1).map((r) => Number(/^stdout F line (\d+)$/.exec(r)![1]));
    expect(numbers.at(-1)).toBe(2999);
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
  });

  for (const format of ["k8s-file", "raw"] as const) {
    test(`${format}: a full disk drops output, counted; the container keeps running; a marker comes when writing works again`, async () => {
      const c = (current = await prepare());
      const logDir = join(c.dir, "logs");
      mkdirSync(logDir);
      expect((await run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", logDir])).code).toBe(0);
      mounted = logDir;
      const log = join(logDir, "log");
      // Lines of a kilobyte: the file's last page (tmpfs counts pages) is soon full.
      const script = "pad=$(head -c 1000 /dev/zero | tr '\\0' x); i=0; while true; do echo \"line $i $pad\"; i=$((i+1)); sleep 0.002; done";
      expect((await start(plan(c, ["sh", "-c", script], { detach: { id: "c", log, logCap: 1 << 30, logFormat: format } }))).code).toBe(0);
      expect(await until(() => existsSync(log) && statSync(log).size > 100)).toBe(true);
      // Fill the disk, let output be lost for a while, then make room again.
      const filler = join(logDir, "filler");
      const fd = openSync(filler, "w");
      try {
        for (const chunk = Buffer.alloc(512); ; ) writeSync(fd, chunk);
      } catch {
        closeSync(fd);
      }
      await Bun.sleep(300);
      unlinkSync(filler);
      const marker = format === "raw" ? /^box: (\d+) bytes of output were lost: cannot write the log \(No space left on device\)$/m : /^\S+ stderr F box: (\d+) bytes of output were lost: cannot write the log \(No space left on device\)$/m;
      expect(await until(() => marker.test(readFileSync(log, "utf8")))).toBe(true);
      // Output goes on after the marker: the pipe was never closed, the command never got SIGPIPE.
      const after = () => readFileSync(log, "utf8").split(marker)[2] ?? "";
      expect(await until(() => /line \d+ x+\n/.test(after()))).toBe(true);
      await stop(c, "SIGTERM");
      expect(exitStatus(c)).toBe("143");
      const text = readFileSync(log, "utf8");
      expect(Number(marker.exec(text)![1])).toBeGreaterThan(0);
      if (format === "k8s-file") records(log);
      else for (const l of text.split("\n").slice(0, -1)) expect(l).toMatch(/^(line \d+ x{1000}|box: \d+ bytes of output were lost: .*)$/);
    }, 20_000);
  }
});
