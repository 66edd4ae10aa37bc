/**
 * The OCI runtime spec's validation suite (opencontainers/runtime-tools, validation/) against a
 * runtime: box-runc by default, or any other (--runtime runc). As root.
 *
 *   bun scripts/oci-validation.ts [--runtime PATH] [--json] [NAME...]
 *
 * The suite is built once into build/runtime-tools (Go from Debian's golang-go, installed when
 * missing) from the source of commit 260e151, the last that builds with Debian's Go 1.19, found at
 * $BOX_RUNTIME_TOOLS_SRC (a directory or a .tar.gz), build/runtime-tools-260e151.tar.gz, or
 * ../shared/fixtures/runtime-tools-260e151.tar.gz; without one of those it says so and exits 2
 * (nothing here downloads it).
 *
 * A file passes when it exits 0 and prints no "not ok" line, and when it printed no test at all, no
 * "error" in its diagnostics either (some files report a failed check only that way).
 */
import { $ } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const top = resolve(import.meta.dir, "..");
export const SUITE = join(top, "build/runtime-tools");
const COMMIT = "260e151";

function source(): string | undefined {
  const candidates = [process.env.BOX_RUNTIME_TOOLS_SRC, join(top, `build/runtime-tools-${COMMIT}.tar.gz`), join(top, `../shared/fixtures/runtime-tools-${COMMIT}.tar.gz`)];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export function built(): boolean {
  return existsSync(join(SUITE, "runtimetest")) && existsSync(join(SUITE, "validation/default/default.t"));
}

/** Builds the suite when it is not built yet; false (and why, on stderr) when it cannot. */
export async function ensureSuite(): Promise<boolean> {
  if (built()) return true;
  const src = source();
  if (!src) {
    console.error(`oci-validation: no source of runtime-tools ${COMMIT}: set BOX_RUNTIME_TOOLS_SRC, or put runtime-tools-${COMMIT}.tar.gz in build/ or ../shared/fixtures/`);
    return false;
  }
  if (!Bun.which("go")) await $`apt-get install -y -qq --no-install-recommends golang-go`.quiet();
  mkdirSync(SUITE, { recursive: true });
  if (statSync(src).isDirectory()) await $`cp -a ${src}/. ${SUITE}/`;
  else await $`tar -xzf ${src} -C ${SUITE}`;
  await $`make runtimetest validation-executables`.cwd(SUITE).env({ ...process.env, GOFLAGS: "-mod=vendor", GOCACHE: join(top, "build/go-cache") }).quiet();
  return built();
}

export function allTests(): string[] {
  return readdirSync(join(SUITE, "validation")).filter((d) => existsSync(join(SUITE, "validation", d, `${d}.t`))).sort();
}

export interface Outcome {
  name: string;
  passed: boolean;
  code: number;
  notOk: number;
  ok: number;
  output: string;
}

export function judge(name: string, code: number, output: string): Outcome {
  const notOk = (output.match(/^not ok /gm) ?? []).length;
  const ok = (output.match(/^ok /gm) ?? []).length;
  const silentError = ok === 0 && notOk === 0 && /^\s+"error":/m.test(output);
  return { name, code, ok, notOk, output, passed: code === 0 && notOk === 0 && !silentError };
}

/**
 * One file of the suite. It mounts (bundles under its TMPDIR, rootfs propagation, the runtime's
 * own mounts), so it runs in a mount namespace of its own with private propagation: whatever it
 * leaves mounted, even when it fails half-way or is killed, goes with that namespace and never
 * reaches the host's. Its temporary directories (ocitest*) are in a TMPDIR made here and removed
 * afterwards.
 */
export async function runTest(runtime: string, name: string, timeoutMs = 120_000): Promise<Outcome> {
  const tmp = mkdtempSync(join(tmpdir(), "box-oci-validation-"));
  try {
    const proc = Bun.spawn(["unshare", "--mount", "--propagation", "private", "--", join(SUITE, "validation", name, `${name}.t`)], {
      cwd: SUITE,
      env: { ...process.env, RUNTIME: runtime, TMPDIR: tmp },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    const code = await proc.exited;
    clearTimeout(timer);
    return judge(name, code, out + err);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  let runtime = join(top, "dist/box-runc");
  const json = args.includes("--json");
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runtime") runtime = args[++i]!;
    else if (args[i] !== "--json") names.push(args[i]!);
  }
  if (!(await ensureSuite())) process.exit(2);
  const outcomes: Outcome[] = [];
  for (const name of names.length ? names : allTests()) {
    const o = await runTest(runtime, name);
    outcomes.push(o);
    if (!json) console.log(`${o.passed ? "pass" : "FAIL"} ${name} (exit ${o.code}, ${o.ok} ok, ${o.notOk} not ok)`);
  }
  const passed = outcomes.filter((o) => o.passed).length;
  if (json) console.log(JSON.stringify(outcomes.map(({ output: _, ...o }) => o)));
  else console.log(`${runtime}: ${passed} of ${outcomes.length} files pass`);
}
