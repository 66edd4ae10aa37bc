// The whole project (sources, scripts, tests) type-checks under strict mode.
import { expect, test } from "bun:test";
import { resolve } from "node:path";

test("tsc --noEmit -p . reports no error", async () => {
  const top = resolve(import.meta.dir, "../..");
  const proc = Bun.spawn([resolve(top, "node_modules/.bin/tsc"), "--noEmit", "-p", top], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  expect(out).toBe("");
  expect(await proc.exited).toBe(0);
}, 120_000);
