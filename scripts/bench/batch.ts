/**
 * Many containers in a row and at once (issue 14, target 3): 100 sequential `box run --rm
 * /bin/true` against 100 `crun run`, and 50 concurrent `box run -d` against 50 concurrent
 * `crun run --detach` and, where podman runs here, `podman run -d --rootfs` (podman with crun).
 */
import { $ } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hyperfine, ms } from "./hyperfine";

function bundle(work: string, name: string, rootfs: string, args: string[]): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return $`runc spec --bundle ${dir}`.quiet().then(() => {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    config.root = { path: rootfs, readonly: true };
    config.process.terminal = false;
    config.process.args = args;
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    return dir;
  });
}

/** podman's default rlimits are above this machine's hard limits, and box lacks CAP_SYS_RESOURCE. */
const PODMAN_LIMITS = "--ulimit nofile=1024:1024 --ulimit nproc=1024:1024";

/** Why podman cannot take part here, or "" when it can (tried in the bench's own mount namespace). */
async function podmanFails(rootfs: string): Promise<string> {
  if (!Bun.which("podman")) return "podman is not installed";
  const r = await $`unshare -m sh -c ${`umount -l /sys/fs/cgroup/unified 2>/dev/null; podman run --rm ${PODMAN_LIMITS} --network none --rootfs ${rootfs} /bin/true`}`.quiet().nothrow();
  return r.exitCode === 0 ? "" : r.stderr.toString().trim().split("\n").pop()!;
}

export async function benchBatch(work: string, box: string, rootfs: string): Promise<string[]> {
  const trueBundle = await bundle(work, "batch-true", rootfs, ["/bin/true"]);
  const sleepBundle = await bundle(work, "batch-sleep", rootfs, ["sleep", "600"]);
  const boxRoot = join(work, "batch-box");
  const crunRoot = join(work, "batch-crun");
  const boxRun = `${box} --root ${boxRoot} run --network none --rootfs ${rootfs}`;
  const crun = `crun --root ${crunRoot}`;
  const seq = await hyperfine(work, "batch-seq", [
    ["box", `for i in $(seq 100); do ${boxRun} --rm /bin/true || exit 1; done`],
    ["crun", `for i in $(seq 100); do ${crun} run --bundle ${trueBundle} seq || exit 1; done`],
  ], { runs: 5, warmup: 1, shell: true });

  const whyNot = await podmanFails(rootfs);
  const podman = whyNot === "";
  const clean = [
    `${box} --root ${boxRoot} ps -aq --no-trunc | xargs -r ${box} --root ${boxRoot} rm -f >/dev/null`,
    `${crun} list -q 2>/dev/null | xargs -r -n 1 ${crun} delete --force`,
    ...(podman ? ["podman ps -aq --filter label=box-bench | xargs -r podman rm -f -t 0 >/dev/null"] : []),
  ].join("; ");
  const concurrent: Array<[string, string]> = [
    ["box", `seq 50 | xargs -P 50 -I{} ${boxRun} -d sleep 600 >/dev/null`],
    ["crun", `seq 50 | xargs -P 50 -I{} ${crun} run --detach --bundle ${sleepBundle} c{}`],
  ];
  if (podman) concurrent.push(["podman", `seq 50 | xargs -P 50 -I{} podman run -d ${PODMAN_LIMITS} --label box-bench --network none --rootfs ${rootfs} sleep 600 >/dev/null`]);
  let par: Awaited<ReturnType<typeof hyperfine>>;
  try {
    par = await hyperfine(work, "batch-par", concurrent, { runs: 5, warmup: 1, shell: true, prepare: clean });
  } finally {
    await $`unshare -m sh -c ${`umount -l /sys/fs/cgroup/unified 2>/dev/null; ${clean}`}`.quiet().nothrow();
  }
  const lines = [
    `100 sequential runs of /bin/true (5 rounds): box run --rm ${ms(seq.box!.median)}, crun run ${ms(seq.crun!.median)}: box / crun ${(seq.box!.median / seq.crun!.median).toFixed(2)}`,
    `50 concurrent detached starts (5 rounds): box run -d ${ms(par.box!.median)}, crun run --detach ${ms(par.crun!.median)}: box / crun ${(par.box!.median / par.crun!.median).toFixed(2)}` +
      (podman ? `; podman run -d ${ms(par.podman!.median)}: box / podman ${(par.box!.median / par.podman!.median).toFixed(2)}` : `; podman left out: ${whyNot}`),
  ];
  return lines;
}
