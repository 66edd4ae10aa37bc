/**
 * npm test: builds dist/box, then runs every test (unit, helper, end-to-end) with `bun test`, and
 * ends with one plain line: "N passed, N failed". End-to-end tests need root (they run containers).
 */
import { $ } from "bun";
import { resolve } from "node:path";

const top = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);

if (!process.env.BOX_SKIP_BUILD) await $`${process.execPath} ${resolve(top, "scripts/build.ts")}`.cwd(top);

const proc = Bun.spawn([process.execPath, "test", "--timeout", "60000", ...(args.length ? args : ["test/"])], {
  cwd: top,
  stdin: "ignore",
  stdout: "inherit",
  stderr: "pipe",
  // BOX_NETWORK=none: no test may put a bridge or NAT rules on the machine's own network.
  env: { ...process.env, FORCE_COLOR: "0", BOX_NETWORK: "none" },
});
// bun test prints its report on stderr: pass it through, and read the totals from it.
let report = "";
const decoder = new TextDecoder();
for await (const chunk of proc.stderr) {
  process.stderr.write(chunk);
  report += decoder.decode(chunk, { stream: true });
}
const code = await proc.exited;
const count = (word: string) => Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(report)?.[1] ?? 0);
const passed = count("pass");
const failed = count("fail") + (code !== 0 && count("fail") === 0 ? 1 : 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
