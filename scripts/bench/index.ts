/**
 * npm run bench: box against crun, runc, bwrap and unshare on the same rootfs, in one hyperfine run,
 * reported as ratios; unpacking the Alpine minirootfs, and a bigger layer, against GNU tar; a pull of
 * a multi-layer image from a registry on 127.0.0.1 against skopeo copy + umoci unpack of the same
 * image; box-runc against crun and runc as OCI runtimes (create+start+delete, run: bench/oci.ts); what box leaves resident per running container; and the size of dist/box.
 *
 * Needs root, dist/box (npm run build), and Debian's crun, runc, bubblewrap, hyperfine,
 * docker-registry, skopeo and umoci (installed with apt-get when missing). crun refuses this machine's hybrid cgroup layout, so the whole run
 * happens in a private mount namespace where the empty cgroup2 mount is gone (see environment.md).
 */
import { $ } from "bun";
import { cpus, totalmem } from "node:os";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchBatch } from "./batch";
import { benchOci } from "./oci";
import { benchRelay } from "./relay";
import { benchScale } from "./scale";
import { benchStartup } from "./startup";

const top = resolve(import.meta.dir, "../..");
const BOX = join(top, "dist/box");
const TARBALL = join(top, "build/alpine-minirootfs-3.20.3-x86_64.tar.gz");

if (process.getuid?.() !== 0) throw new Error("npm run bench needs root (it runs containers)");
if (!existsSync(BOX)) throw new Error("dist/box is missing: npm run build first");

const tools: Record<string, string> = { crun: "crun", runc: "runc", bwrap: "bubblewrap", hyperfine: "hyperfine", "docker-registry": "docker-registry", skopeo: "skopeo", umoci: "umoci" };
const missing = Object.entries(tools).filter(([cmd]) => !Bun.which(cmd, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }));
if (missing.length) {
  await $`apt-get update -qq`.quiet();
  await $`apt-get install -y -qq ${missing.map(([, pkg]) => pkg)}`.env({ ...process.env, DEBIAN_FRONTEND: "noninteractive" }).quiet();
}

// The parts that stand alone, by name: `npm run bench -- scale relay` runs only those.
const parts: Record<string, (work: string, box: string, rootfs: string) => Promise<string[]>> = {
  startup: (work, box) => benchStartup(work, box),
  scale: benchScale,
  batch: benchBatch,
  relay: benchRelay,
  oci: benchOci,
};
const only = process.argv.slice(2);
for (const name of only) if (!parts[name]) throw new Error(`no bench part "${name}": ${Object.keys(parts).join(", ")}`);

async function standalone(work: string, rootfs: string, names: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const name of names) lines.push("", ...(await parts[name]!(work, BOX, rootfs)));
  return lines;
}

const work = mkdtempSync(join(tmpdir(), "box-bench-"));
try {
  if (only.length > 0) {
    const rootfs = join(work, "rootfs");
    mkdirSync(rootfs);
    await $`tar -xzf ${TARBALL} -C ${rootfs}`;
    console.log((await standalone(work, rootfs, only)).join("\n"));
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  }
  // One rootfs for everyone, and an OCI bundle over it for crun and runc.
  const rootfs = join(work, "rootfs");
  mkdirSync(rootfs);
  await $`tar -xzf ${TARBALL} -C ${rootfs}`;
  const bundle = join(work, "bundle");
  mkdirSync(bundle);
  await $`runc spec --bundle ${bundle}`;
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.root = { path: rootfs, readonly: false };
  config.process.terminal = false;
  config.process.args = ["/bin/true"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2));
  const state = join(work, "box-root");
  // The first box run unpacks nothing (--rootfs), but warm the page cache for every tool alike.
  await $`${BOX} --root ${state} run --network none --rootfs ${rootfs} /bin/true`;
  await $`${BOX} --root ${state} run --rm --network none true`;

  const commands: Array<[string, string]> = [
    // --network none: like the others, a network namespace with loopback, no veth or bridge.
    ["box", `${BOX} --root ${state} run --network none --rootfs ${rootfs} /bin/true`],
    // The embedded Alpine, on a warm store (an overlay of its layer, as for any image).
    ["box (image)", `${BOX} --root ${state} run --rm --network none true`],
    ["crun", `crun --root ${join(work, "crun")} run --bundle ${bundle} bench-crun`],
    ["runc", `runc --root ${join(work, "runc")} run --bundle ${bundle} bench-runc`],
    ["bwrap", `bwrap --unshare-all --bind ${rootfs} / --proc /proc --dev /dev /bin/true`],
    ["unshare", `unshare --fork --pid --mount --uts --ipc --net --cgroup --root ${rootfs} --mount-proc /bin/true`],
    ["exec", `${rootfs}/bin/true`],
  ];
  const json = join(work, "hyperfine.json");
  const hf = ["hyperfine", "-N", "--warmup", "10", "--runs", "200", "--export-json", json, ...commands.flatMap(([n, c]) => ["-n", n, c])];
  const script = `umount -l /sys/fs/cgroup/unified 2>/dev/null; exec ${hf.map((a) => `'${a}'`).join(" ")}`;
  await $`unshare -m sh -c ${script}`;

  const results = JSON.parse(readFileSync(json, "utf8")).results as Array<{ command: string; median: number; mean: number; stddev: number }>;
  const boxMedian = results.find((r) => r.command === "box")!.median;
  const rows = results.map((r) => ({
    tool: r.command,
    median: `${(r.median * 1000).toFixed(2)} ms`,
    "mean ± σ": `${(r.mean * 1000).toFixed(2)} ± ${(r.stddev * 1000).toFixed(2)} ms`,
    "box / tool": (boxMedian / r.median).toFixed(2),
  }));

  // --explain and box pack cost nothing when not used: the box row's command as built, with
  // --explain (its story to /dev/null, as hyperfine -N discards output), and from a packed copy of
  // box (carrying the Alpine fixture, box pack), in one hyperfine run.
  const packed = join(work, "packed-box");
  await $`${BOX} --root ${state} import ${TARBALL} bench-pack:1`.quiet();
  await $`${BOX} --root ${state} pack bench-pack:1 -o ${packed}`.quiet();
  const trueIn = (exe: string, extra = "") => `${exe} --root ${state} run --network none ${extra}--rootfs ${rootfs} /bin/true`;
  const explainJson = join(work, "explain.json");
  await $`hyperfine -N --warmup 10 --runs 100 --export-json ${explainJson} -n off ${trueIn(BOX)} -n explain ${trueIn(BOX, "--explain ")} -n packed ${trueIn(packed)}`;
  const ex = JSON.parse(readFileSync(explainJson, "utf8")).results as Array<{ command: string; median: number }>;
  const [eOff, eOn, ePacked] = ["off", "explain", "packed"].map((n) => ex.find((r) => r.command === n)!.median * 1000);
  // hyperfine runs each command's batch in turn, and this shared machine drifts between batches more
  // than these differ: the same three again, interleaved round by round, the median of the ratios.
  const argv = (cmd: string) => cmd.split(" ");
  const took: Record<string, number[]> = { off: [], explain: [], packed: [] };
  const variants: Record<string, string[]> = { off: argv(trueIn(BOX)), explain: argv(trueIn(BOX, "--explain ")), packed: argv(trueIn(packed)) };
  for (let i = 0; i < 100; i++) {
    for (const name of i % 2 ? Object.keys(variants) : Object.keys(variants).reverse()) {
      const t = performance.now();
      if (Bun.spawnSync(variants[name]!, { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) throw new Error(`${name} run failed`);
      took[name]!.push(performance.now() - t);
    }
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const per = (n: string) => mid(took[n]!.map((x, i) => x / took.off![i]!)).toFixed(2);
  const traceLine = `--explain: off ${eOff!.toFixed(1)} ms, on ${eOn!.toFixed(1)} ms (on / off ${(eOn! / eOff!).toFixed(2)}); a packed box (box pack) ${ePacked!.toFixed(1)} ms (packed / box ${(ePacked! / eOff!).toFixed(2)}); hyperfine medians of 100 runs; interleaved, 100 rounds: on / off ${per("explain")}, packed / box ${per("packed")}`;

  // box as an OCI runtime (box-runc) against crun and runc, on one bundle (scripts/bench/oci.ts).
  const oci = (await benchOci(work, BOX, rootfs)).join("\n");

  // What stays resident on the host per running container: its supervisor and its init, measured
  // with 20 detached `sleep` containers.
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await $`${BOX} --root ${state} run -d --network none --rootfs ${rootfs} sleep 60`.text()).trim());
  let total = 0;
  for (const id of ids) {
    const [sup, , init] = readFileSync(join(state, "run", `${id}.pid`), "utf8").trim().split(" ").map(Number);
    total += rss(sup!) + rss(init!);
  }
  const resident = Math.round(total / ids.length);
  await $`${BOX} --root ${state} rm -f ${ids}`.quiet();

  // Unpacking: box import of the Alpine minirootfs against GNU tar -xzf of the same file.
  const unpackJson = join(work, "unpack.json");
  const into = join(work, "unpack-tar");
  const store = join(work, "unpack-box");
  const prepare = `rm -rf ${into} ${store}; mkdir ${into}`;
  await $`hyperfine -N --warmup 3 --runs 30 --prepare ${"sh -c '" + prepare + "'"} --export-json ${unpackJson} -n box ${`${BOX} --root ${store} import ${TARBALL} bench`} -n tar ${`tar -xzf ${TARBALL} -C ${into}`}`;
  const unpack = JSON.parse(readFileSync(unpackJson, "utf8")).results as Array<{ command: string; median: number }>;
  const [ub, ut] = ["box", "tar"].map((n) => unpack.find((r) => r.command === n)!.median);

  // A bigger layer: the Alpine tree 8 times over (about 65 MB in 4000 files), as a plain tar.
  const big = join(work, "big");
  mkdirSync(big);
  for (let i = 0; i < 8; i++) {
    mkdirSync(join(big, `copy${i}`));
    await $`tar -xzf ${TARBALL} -C ${join(big, `copy${i}`)}`;
  }
  const bigTar = join(work, "big.tar");
  await $`tar -cf ${bigTar} -C ${big} .`;
  const bigMB = statSync(bigTar).size / 1e6;
  const bigJson = join(work, "big.json");
  await $`hyperfine -N --warmup 1 --runs 10 --prepare ${"sh -c '" + prepare + "'"} --export-json ${bigJson} -n box ${`${BOX} --root ${store} import ${bigTar} bench`} -n tar ${`tar -xf ${bigTar} -C ${into}`}`;
  const bigRes = JSON.parse(readFileSync(bigJson, "utf8")).results as Array<{ command: string; median: number }>;
  const [bb, bt] = ["box", "tar"].map((n) => bigRes.find((r) => r.command === n)!.median);

  // A pull of a three-layer image (Alpine, the bigger layer gzip'd, a small one) from a registry
  // on 127.0.0.1: box pull against skopeo copy to an OCI layout followed by umoci unpack.
  const regDir = join(work, "registry");
  mkdirSync(join(regDir, "storage"), { recursive: true });
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(regDir, "config.yml"), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(regDir, "storage")}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const registry = Bun.spawn(["docker-registry", "serve", join(regDir, "config.yml")], { stdout: "ignore", stderr: "ignore" });
  let pullRatio = "";
  let pullRows = "";
  try {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
      } catch {
        /* starting */
      }
      await Bun.sleep(25);
    }
    const layout = join(work, "oci");
    await $`umoci init --layout ${layout}`.quiet();
    await $`umoci new --image ${layout}:1`.quiet();
    const bundle1 = join(work, "umoci-build");
    await $`umoci unpack --image ${layout}:1 ${bundle1}`.quiet();
    await $`tar -xzf ${TARBALL} -C ${join(bundle1, "rootfs")}`;
    await $`umoci repack --image ${layout}:1 ${bundle1}`.quiet();
    await $`cp -a ${big}/. ${join(bundle1, "rootfs")}/`;
    await $`umoci repack --image ${layout}:1 ${bundle1}`.quiet();
    await $`sh -c ${`echo small > ${join(bundle1, "rootfs/small")}`}`;
    await $`umoci repack --image ${layout}:1 ${bundle1}`.quiet();
    await $`umoci config --image ${layout}:1 --config.cmd /bin/sh`.quiet();
    const image = `127.0.0.1:${port}/bench/multi:1`;
    await $`skopeo copy -q --dest-tls-verify=false oci:${layout}:1 docker://${image}`;
    // Interleaved runs (box, then the reference, again and again): this machine's speed drifts
    // more between minutes than the two differ, and hyperfine would run all of one first.
    const pstore = join(work, "pull-box");
    const pref = join(work, "pull-ref");
    const timed = (argv: string[]) => {
      const t = performance.now();
      const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
      return performance.now() - t;
    };
    const tb: number[] = [];
    const tr: number[] = [];
    for (let i = 0; i < 9; i++) {
      rmSync(pstore, { recursive: true, force: true });
      rmSync(pref, { recursive: true, force: true });
      mkdirSync(pref);
      tb.push(timed([BOX, "--root", pstore, "pull", "-q", image]));
      tr.push(timed(["sh", "-c", `skopeo copy -q --src-tls-verify=false docker://${image} oci:${pref}/oci:1 && umoci unpack --image ${pref}/oci:1 ${pref}/bundle >/dev/null`]));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratios = tb.map((b, i) => b / tr[i]!);
    const pb = median(tb) / 1000;
    const pr = median(tr) / 1000;
    const compressed = Number((await $`sh -c ${`du -sb ${join(regDir, "storage")} | cut -f1`}`.text()).trim()) / 1e6;
    pullRows = `box pull ${(pb * 1000).toFixed(0)} ms, skopeo copy + umoci unpack ${(pr * 1000).toFixed(0)} ms`;
    pullRatio = `ratio ${median(ratios).toFixed(2)} (median of 9 interleaved pairs; target at most 1.00; ${compressed.toFixed(0)} MB in the registry, 3 layers)`;
  } finally {
    registry.kill();
    await registry.exited;
  }

  const size = statSync(BOX).size;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${(await $`uname -r`.text()).trim()}`;
  console.log(`\nmachine: ${machine}`);
  console.log("start and run /bin/true in a new container, same rootfs (hyperfine -N, 200 runs):\n");
  console.log("| tool | median | mean ± σ | box / tool |\n| --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.tool} | ${r.median} | ${r["mean ± σ"]} | ${r["box / tool"]} |`);
  console.log(`\nthe same bundle through each runtime's runc command line (hyperfine -N, 100 runs):\n\n${oci}`);
  console.log(`\nunpacking the Alpine minirootfs: box import ${(ub! * 1000).toFixed(1)} ms, GNU tar -xzf ${(ut! * 1000).toFixed(1)} ms, ratio ${(ub! / ut!).toFixed(2)} (target at most 1.5)`);
  console.log(`unpacking a ${bigMB.toFixed(0)} MB tar of 4000 files: box import ${(bb! * 1000).toFixed(0)} ms (${(bigMB / bb!).toFixed(0)} MB/s), GNU tar -xf ${(bt! * 1000).toFixed(0)} ms (${(bigMB / bt!).toFixed(0)} MB/s), ratio ${(bb! / bt!).toFixed(2)}`);
  console.log(`pulling a three-layer image from a registry on 127.0.0.1: ${pullRows}, ${pullRatio}`);
  console.log(traceLine);
  console.log(`resident per running container (supervisor + init, mean of 20 detached): ${resident} kB (target under 2048)`);
  console.log(`dist/box: ${(size / 2 ** 20).toFixed(1)} MiB`);
  // oci ran above, its table beside the others.
  console.log((await standalone(work, rootfs, Object.keys(parts).filter((name) => name !== "oci"))).join("\n"));
} finally {
  rmSync(work, { recursive: true, force: true });
}
