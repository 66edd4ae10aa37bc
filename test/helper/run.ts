/**
 * Running the real helper on plans built here (as root): for what box's commands do not ask for
 * yet (the k8s-file log, the hold FIFO), the helper is driven as the front end will drive it.
 * Each container gets a fresh copy of the Alpine rootfs in a temporary directory, no cgroup, and
 * loopback only.
 */
import { afterEach } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { removeCgroup } from "../../src/cgroup/setup";
import { join } from "node:path";
import { resolveCapabilities } from "../../src/spec/capabilities";
import { buildSpec, type SpecInput } from "../../src/spec/build";
import { encodePlan, planRecords } from "../../src/spec/plan";
import type { Spec } from "../../src/spec/types";
import { ALPINE_TARBALL, removeRoot, run, tempDir } from "../e2e/harness";
import { HELPER } from "./helper";

export interface Container {
  dir: string;
  rootfs: string;
  pidFile: string;
  exitFile: string;
}

/** A directory with an Alpine rootfs and the files a container's /etc needs. */
export async function prepare(): Promise<Container> {
  const dir = tempDir("box-helper-run-");
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs);
  const r = await run(["tar", "-xzf", ALPINE_TARBALL, "-C", rootfs]);
  if (r.code !== 0) throw new Error(r.stderr);
  for (const f of ["hostname", "hosts", "resolv.conf"]) writeFileSync(join(dir, f), "");
  return { dir, rootfs, pidFile: join(dir, "pid"), exitFile: join(dir, "exit") };
}

export function plan(c: Container, args: string[], more: Partial<SpecInput>): Uint8Array {
  return encodePlan(planRecords(spec(c, args, more)));
}

export function spec(c: Container, args: string[], more: Partial<SpecInput>): Spec {
  return buildSpec({
    process: { args, env: [], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/root", hostname: "t", tty: false, stdin: false },
    security: { capabilities: resolveCapabilities([], [], false), noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false },
    network: "none",
    rootfs: { kind: "bind", path: c.rootfs },
    etcFiles: { hostname: join(c.dir, "hostname"), hosts: join(c.dir, "hosts"), resolvConf: join(c.dir, "resolv.conf") },
    cleanup: [c.pidFile],
    pidFile: c.pidFile,
    exitFile: c.exitFile,
    ...more,
  });
}

/** Starts the helper on a plan; for a detached plan, resolves once the caller has returned. */
export async function start(planBytes: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([HELPER, "--plan-fd", "0"], { stdin: new Blob([planBytes]), stdout: "pipe", stderr: "pipe", env: {} });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, stdout, stderr };
}

export function supervisor(c: Container): number | undefined {
  return existsSync(c.pidFile) ? Number(readFileSync(c.pidFile, "utf8").split(" ")[0]) : undefined;
}

/** Alive, and not a zombie waiting for this machine's init to reap it. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits for the detached container's supervisor to end (after sending it sig, if given). */
export async function stop(c: Container, sig?: NodeJS.Signals): Promise<void> {
  const pid = supervisor(c);
  if (pid === undefined) return;
  if (sig) process.kill(pid, sig);
  for (let i = 0; i < 500 && alive(pid); i++) await Bun.sleep(10);
  if (alive(pid)) {
    process.kill(pid, "SIGKILL");
    throw new Error(`the supervisor ${pid} did not end`);
  }
}

export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(10)) if (check()) return true;
  return check();
}

export function exitStatus(c: Container): string | undefined {
  return existsSync(c.exitFile) ? readFileSync(c.exitFile, "utf8").split(" ")[0] : undefined;
}

/**
 * For a test file whose tests each make one container (and maybe cgroup directories): after each
 * test, the container is stopped with SIGKILL and its root removed, and the directories removed.
 * Each test hands what it made to the returned object.
 */
export function cleanUpAfterEach(): { current?: Container; cgroupDirs: string[] } {
  const made: { current?: Container; cgroupDirs: string[] } = { cgroupDirs: [] };
  afterEach(async () => {
    if (made.current) await stop(made.current, "SIGKILL").catch(() => {});
    if (made.current) removeRoot(made.current.dir);
    removeCgroup(made.cgroupDirs, 2000);
    made.current = undefined;
    made.cgroupDirs = [];
  });
  return made;
}
