/**
 * Flat cost as work grows (issue 14, target 2): a store of 1,000 containers (900 exited, 100
 * running `sleep`) against an empty one, for `box run --rm`, `box ps -a` and `box exec`.
 */
import { $ } from "bun";
import { against, hyperfine, ms } from "./hyperfine";
import { join } from "node:path";

const EXITED = 900;
const RUNNING = 100;

export async function benchScale(work: string, box: string, rootfs: string): Promise<string[]> {
  const empty = join(work, "scale-empty");
  const one = join(work, "scale-one");
  const full = join(work, "scale-full");
  const run = (root: string, extra: string) => `${box} --root ${root} run --network none ${extra}--rootfs ${rootfs}`;
  await $`sh -c ${`${run(empty, "--rm ")} /bin/true`}`;
  let single = "";
  try {
    single = (await $`sh -c ${`${run(one, "-d ")} sleep 3600`}`.text()).trim();
    // Four at a time: the store is what is measured, not how fast it fills. A foreground run is
    // kept after it exits only with a name, as docker keeps it.
    await $`sh -c ${`seq ${EXITED} | xargs -P 4 -I{} ${run(full, "--name exited{} ")} /bin/true`}`.quiet();
    await $`sh -c ${`seq ${RUNNING} | xargs -P 4 -I{} ${run(full, "-d ")} sleep 3600`}`.quiet();
    const ids = (await $`${box} --root ${full} ps -aq --no-trunc`.text()).trim().split("\n");
    const running = (await $`${box} --root ${full} ps -q --no-trunc`.text()).trim().split("\n");
    if (ids.length !== EXITED + RUNNING || running.length !== RUNNING) throw new Error(`the store holds ${ids.length} containers, ${running.length} running`);
    const t = await hyperfine(work, "scale", [
      ["run, empty store", `${run(empty, "--rm ")} /bin/true`],
      ["run, 1000 containers", `${run(full, "--rm ")} /bin/true`],
      ["ps -a, 1000 containers", `${box} --root ${full} ps -a`],
      ["exec, 1 container", `${box} --root ${one} exec ${single} /bin/true`],
      ["exec, 1000 containers", `${box} --root ${full} exec ${running[RUNNING / 2]} /bin/true`],
    ], { runs: 50, warmup: 5 });
    const m = (n: string) => t[n]!.median;
    return [
      `flat cost with ${EXITED + RUNNING} containers in the store (${RUNNING} running), hyperfine -N, 50 runs:`,
      `- box run --rm: ${ms(m("run, empty store"))} with none, ${ms(m("run, 1000 containers"))} with 1000: ratio ${against(m("run, 1000 containers") / m("run, empty store"), 1.1)}`,
      `- box ps -a with 1000: ${ms(m("ps -a, 1000 containers"))} (target under 100 ms: ${m("ps -a, 1000 containers") < 100 ? "met" : "NOT met"})`,
      `- box exec: ${ms(m("exec, 1 container"))} into one of 1, ${ms(m("exec, 1000 containers"))} into one of 1000: ratio ${against(m("exec, 1000 containers") / m("exec, 1 container"), 1.0)}`,
    ];
  } finally {
    if (single) await $`${box} --root ${one} rm -f ${single}`.quiet().nothrow();
    await $`sh -c ${`${box} --root ${full} ps -aq --no-trunc | xargs -n 100 ${box} --root ${full} rm -f`}`.quiet().nothrow();
  }
}
