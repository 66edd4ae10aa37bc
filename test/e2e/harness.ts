/**
 * Drives the compiled dist/box as a user would, each test with its own temporary --root, and checks
 * afterwards that nothing was left behind on the host.
 */
import { expect } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from "node:fs";
import { detect } from "../../src/cgroup/detect";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

export const TOP = resolve(import.meta.dir, "../..");
export const BOX = join(TOP, "dist/box");
/** The tarball the build embedded (checked against its published sha512 by scripts/build.ts). */
export const ALPINE_TARBALL = join(TOP, "build/alpine-minirootfs-3.20.3-x86_64.tar.gz");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  out: Uint8Array;
}

export function tempDir(prefix = "box-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface BoxOptions {
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Another box executable (a packed one, from box pack) in place of dist/box. */
  exe?: string;
}

/** Runs `box --root ROOT ARGS...` to the end. */
export async function box(root: string, args: string[], opts: BoxOptions = {}): Promise<Result> {
  return run([opts.exe ?? BOX, "--root", root, ...args], opts);
}

export async function run(argv: string[], opts: BoxOptions = {}): Promise<Result> {
  const proc = Bun.spawn(argv, {
    stdin: opts.stdin !== undefined ? new Blob([opts.stdin]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    // Tests never touch the machine's own network: bridge networking is tested in namespaces of
    // their own (test/net), everything else runs with loopback only.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BOX_NETWORK: "none", ...scopeEnv(), ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: new TextDecoder().decode(out), stderr: err, out };
}

/** Starts box in the background; the caller waits or signals. */
export function spawnBox(root: string, args: string[], exe = BOX) {
  return Bun.spawn([exe, "--root", root, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BOX_NETWORK: "none", ...scopeEnv() } });
}

/**
 * What a test made is told apart from what other box users on the machine make: the test's
 * containers get cgroups under a parent of the test's own (BOX_CGROUP_PARENT), and box's helper
 * processes carry the store they belong to in their environment (BOX_ROOT=...).
 */
let current: string | undefined;

export function cgroupParentFor(root: string): string {
  return `box-test-${basename(root)}`;
}

export function scopeEnv(): Record<string, string> {
  return current ? { BOX_CGROUP_PARENT: cgroupParentFor(current) } : {};
}

/** box-helper processes (supervisors and containers' inits) of the store at root. */
export function helperProcesses(root: string): string[] {
  const found: string[] = [];
  const marker = `BOX_ROOT=${root}\0`;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.startsWith("box-helper")) continue;
      if (readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(marker.slice(0, -1))) found.push(`${pid}: ${cmdline.replaceAll("\0", " ")}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Waits until the root's helper processes are gone (the kernel may take a moment to reap). */
async function settle(root: string): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = helperProcesses(root);
    if (left.length === 0) return left;
    await Bun.sleep(20);
  }
  return left;
}

/** The cgroup directories the test's containers go in, one per hierarchy (they may not exist). */
export function testCgroupParents(root: string): string[] {
  const host = detect();
  const hierarchies = [...Object.values(host.v1), ...(host.unified ? [host.unified] : [])];
  return [...new Set(hierarchies.map((h) => join(h.mount, h.own, cgroupParentFor(root))))];
}

/** Container cgroups left by the test at root. */
export function cgroupsOf(root: string): string[] {
  return testCgroupParents(root).flatMap((dir) => safeList(dir).filter((c) => /^[0-9a-f]{64}$/.test(c)).map((c) => join(dir, c)));
}

export interface Snapshot {
  bridge: boolean;
}

export function snapshot(): Snapshot {
  return { bridge: readdirSync("/sys/class/net").includes("box0") };
}

/**
 * Nothing left behind by the test at root: no helper process of its store, no container cgroup
 * under its cgroup parent, no mount mentioning the root, no container state or scratch files, and
 * no bridge on the machine's own network (every test but test/net runs with --network none).
 */
export async function expectNoLeaks(root: string, before: Snapshot): Promise<void> {
  expect(await settle(root)).toEqual([]);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(root));
  expect(mounts).toEqual([]);
  for (const sub of ["containers", "run", "names", "tmp", "active"]) {
    const dir = join(root, sub);
    if (existsSync(dir)) expect({ [sub]: readdirSync(dir) }).toEqual({ [sub]: [] });
  }
  expect(cgroupsOf(root)).toEqual([]);
  if (!before.bridge) expect(readdirSync("/sys/class/net").includes("box0")).toBe(false);
}

/** Runs a test body with a fresh --root, then checks for leaks and removes the root. */
export async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = tempDir();
  const before = snapshot();
  const outer = current;
  current = root;
  try {
    await body(root);
    await expectNoLeaks(root, before);
  } finally {
    current = outer;
    for (const dir of testCgroupParents(root)) {
      try {
        rmdirSync(dir);
      } catch {
        /* not made, or (after a failure) not empty */
      }
    }
    removeRoot(root);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** The host's own namespace inode for a kind (uts, pid, mnt, ...). */
export function hostNs(kind: string): string {
  return readlinkSync(`/proc/self/ns/${kind}`);
}
