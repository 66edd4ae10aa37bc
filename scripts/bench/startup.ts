/**
 * What box pays before any container work (issue 14, targets 1 and 5): `box --version` against a
 * Bun-compiled hello world built here with the same Bun, and the first `box run` on an empty store
 * (unpacking the embedded Alpine) against a run on a warm one.
 */
import { $ } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { against, hyperfine, ms } from "./hyperfine";

export async function benchStartup(work: string, box: string): Promise<string[]> {
  const src = join(work, "hello.ts");
  const hello = join(work, "hello");
  writeFileSync(src, 'console.log("hello");\n');
  await $`${process.execPath} build --compile --minify --bytecode ${src} --outfile ${hello}`.quiet();
  const empty = join(work, "first-run");
  const warm = join(work, "warm-run");
  await $`${box} --root ${warm} run --rm --network none true`.quiet();
  const t = await hyperfine(work, "startup", [
    ["hello", hello],
    ["version", `${box} --version`],
    ["first run", `${box} --root ${empty} run --rm --network none true`],
    ["warm run", `${box} --root ${warm} run --rm --network none true`],
  ], { runs: 30, warmup: 3, prepare: `rm -rf ${empty}` });
  const m = (n: string) => t[n]!.median;
  return [
    `box --version ${ms(m("version"))}, a Bun-compiled hello world ${ms(m("hello"))}: ratio ${against(m("version") / m("hello"), 1.5)}`,
    `first box run true on an empty store (unpacking the embedded Alpine) ${ms(m("first run"))} (target under 300 ms: ${m("first run") < 300 ? "met" : "NOT met"}); on a warm store ${ms(m("warm run"))}`,
  ];
}
