/**
 * Drives the compiled dist/box as a user would, each test with its own temporary --root, and checks
 * afterwards that nothing was left behind on the host.
 */
import { expect } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

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
}

/** Runs `box --root ROOT ARGS...` to the end. */
export async function box(root: string, args: string[], opts: BoxOptions = {}): Promise<Result> {
  return run([BOX, "--root", root, ...args], opts);
}

export async function run(argv: string[], opts: BoxOptions = {}): Promise<Result> {
  const proc = Bun.spawn(argv, {
    stdin: opts.stdin !== undefined ? new Blob([opts.stdin]) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
    // Tests never touch the machine's own network: bridge networking is tested in namespaces of
    // their own (test/net), everything else runs with loopback only.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BOX_NETWORK: "none", ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: new TextDecoder().decode(out), stderr: err, out };
}

/** Starts box in the background; the caller waits or signals. */
export function spawnBox(root: string, args: string[]) {
  return Bun.spawn([BOX, "--root", root, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BOX_NETWORK: "none" } });
}

function boxProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const exe = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (exe.startsWith("box-helper")) found.push(`${pid}: ${exe.replaceAll("\0", " ")}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Waits until the given helper processes are gone (the kernel may take a moment to reap). */
async function settle(before: Set<string>): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = boxProcesses().filter((p) => !before.has(p.split(":")[0]!));
    if (left.length === 0) return left;
    await Bun.sleep(20);
  }
  return left;
}

export interface Snapshot {
  helpers: Set<string>;
  net: string[];
  cgroups: Set<string>;
}

export function snapshot(): Snapshot {
  return {
    helpers: new Set(boxProcesses().map((p) => p.split(":")[0]!)),
    net: readdirSync("/sys/class/net").sort(),
    cgroups: new Set(cgroupDirsOfBox()),
  };
}

/**
 * Nothing left behind: no helper process or container cgroup made since the snapshot, no mount
 * mentioning the root, no container state or scratch files, no new network interface.
 */
export async function expectNoLeaks(root: string, before: Snapshot): Promise<void> {
  expect(await settle(before.helpers)).toEqual([]);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(root));
  expect(mounts).toEqual([]);
  for (const sub of ["containers", "run", "names", "tmp"]) {
    const dir = join(root, sub);
    if (existsSync(dir)) expect({ [sub]: readdirSync(dir) }).toEqual({ [sub]: [] });
  }
  expect(cgroupDirsOfBox().filter((c) => !before.cgroups.has(c))).toEqual([]);
  expect(readdirSync("/sys/class/net").sort()).toEqual(before.net);
}

/** Runs a test body with a fresh --root, then checks for leaks and removes the root. */
export async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = tempDir();
  const before = snapshot();
  try {
    await body(root);
    await expectNoLeaks(root, before);
  } finally {
    removeRoot(root);
  }
}

/**
 * Container cgroups left on the host: any directory inside a "box" cgroup of any hierarchy (box
 * nests its "box" parent under its own cgroup, which may be deep, so this looks a few levels down).
 */
export function cgroupDirsOfBox(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of safeList(dir)) {
      const path = join(dir, entry);
      let isDir = false;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      if (entry === "box") found.push(...safeList(path).filter((c) => /^[0-9a-f]{64}$/.test(c)).map((c) => join(path, c)));
      else if (depth > 0) walk(path, depth - 1);
    }
  };
  walk("/sys/fs/cgroup", 4);
  return found;
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
