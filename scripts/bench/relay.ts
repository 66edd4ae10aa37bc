/**
 * Output (issue 14, target 4): 1 GiB of a container's stdout through box into `wc -c`, against the
 * same busybox pipeline without box (busybox run by the image's own musl loader). A pipe is handed
 * to the container as it is (helper/stdio.c), so that measures what the container itself pays
 * (its seccomp filter on every read and write). Into a file, box relays (splice through a pipe of
 * its own): that is timed too, against busybox writing the file itself, and what box keeps resident
 * meanwhile is sampled (the foreground box execs into the helper's supervisor, so its pid is the
 * one that relays).
 */
import { $ } from "bun";
import { closeSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { against, hyperfine, ms } from "./hyperfine";

const GIB = 1024 ** 3;

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The largest resident size of one relaying box, sampled every 5 ms. */
async function relayResident(work: string, box: string, rootfs: string): Promise<number> {
  const file = "/dev/shm/box-bench-relay.out";
  const w = openSync(file, "w");
  const p = Bun.spawn([box, "--root", join(work, "relay-box"), "run", "--rm", "--network", "none", "--rootfs", rootfs, "head", "-c", String(GIB), "/dev/zero"], { stdout: w, stderr: "inherit" });
  closeSync(w);
  let peak = 0;
  // Past Bun's own start (it execs into the helper within tens of milliseconds).
  await Bun.sleep(200);
  while (p.exitCode === null) {
    peak = Math.max(peak, rssKb(p.pid));
    await Bun.sleep(5);
  }
  const bytes = statSync(file).size;
  rmSync(file);
  if ((await p.exited) !== 0 || bytes !== GIB) throw new Error(`the relay gave ${bytes} bytes`);
  return peak;
}

export async function benchRelay(work: string, box: string, rootfs: string): Promise<string[]> {
  const boxRoot = join(work, "relay-box");
  const busybox = `${rootfs}/lib/ld-musl-x86_64.so.1 ${rootfs}/bin/busybox`;
  // On /dev/shm: the disk's speed is not what is measured.
  const out = "/dev/shm/box-bench-relay.out";
  const t = await hyperfine(work, "relay", [
    ["box", `${box} --root ${boxRoot} run --rm --network none --rootfs ${rootfs} head -c ${GIB} /dev/zero | wc -c`],
    ["pipeline", `${busybox} head -c ${GIB} /dev/zero | wc -c`],
    ["box into a file", `${box} --root ${boxRoot} run --rm --network none --rootfs ${rootfs} head -c ${GIB} /dev/zero > ${out}`],
    ["busybox into a file", `${busybox} head -c ${GIB} /dev/zero > ${out}`],
  ], { runs: 10, warmup: 1, shell: true });
  rmSync(out, { force: true });
  const peak = await relayResident(work, box, rootfs);
  return [
    `1 GiB of stdout into wc -c (10 runs): through box ${ms(t.box!.median)}, busybox head without box ${ms(t.pipeline!.median)}: ratio ${against(t.box!.median / t.pipeline!.median, 1.1)}`,
    `1 GiB into a file on /dev/shm, relayed by box: ${ms(t["box into a file"]!.median)}, busybox writing it itself ${ms(t["busybox into a file"]!.median)}: ratio ${(t["box into a file"]!.median / t["busybox into a file"]!.median).toFixed(2)}`,
    `resident while relaying: ${peak} kB at most (target under 1024 kB: ${peak < 1024 ? "met" : "NOT met"})`,
  ];
}
