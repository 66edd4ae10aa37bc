/**
 * Drives dist/box-runc (the link the build makes: box answering runc's command line) as podman,
 * conmon and the runtime spec's tools do, each test with its own state root, bundles made from the
 * Alpine fixture, and its containers' cgroups under a parent of its own. Afterwards: no state
 * left, no process in the test's cgroups, the cgroups gone, no mount naming the test's paths.
 */
import { expect } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostCgroups } from "../../src/oci/cgroups";
import { ALPINE_TARBALL, run, tempDir, TOP, type Result } from "../e2e/harness";

export const BOXRUNC = join(TOP, "dist/box-runc");
export type Config = Record<string, any>;

let template: string | undefined;
let starter: Config | undefined;

/** An Alpine root, unpacked once per test file and copied for each bundle. */
async function alpine(): Promise<string> {
  if (template) return template;
  const dir = tempDir("box-oci-alpine-");
  const r = await run(["tar", "-xzf", ALPINE_TARBALL, "-C", dir]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (template = dir);
}

export class Env {
  readonly root = tempDir("box-oci-root-");
  readonly dir = tempDir("box-oci-");
  /** An absolute cgroupsPath parent of the test's own. */
  readonly cgroupParent = `/box-oci-test-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  private n = 0;

  runc(args: string[], opts: { stdin?: string; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
    return run([BOXRUNC, "--root", this.root, ...args], { ...opts, env: { ...opts.env } });
  }

  /** A bundle: box-runc spec's config.json, made to run args without a terminal, in the test's
   * cgroup parent, changed further by edit. */
  async bundle(args: string[], edit?: (c: Config) => void): Promise<string> {
    const dir = join(this.dir, `bundle${this.n++}`);
    mkdirSync(dir);
    cpSync(await alpine(), join(dir, "rootfs"), { recursive: true, verbatimSymlinks: true });
    const c: Config = structuredClone(await starterConfig(this));
    c.process.terminal = false;
    c.process.args = args;
    c.root.readonly = false;
    c.linux.cgroupsPath = `${this.cgroupParent}/${this.n}`;
    edit?.(c);
    writeFileSync(join(dir, "config.json"), JSON.stringify(c, null, 1));
    return dir;
  }

  /** The container's cgroup directories (one per hierarchy of the host). */
  cgroupDirs(path: string): string[] {
    return hostCgroups().hierarchies.map((h) => join(h.mount, path));
  }

  /** Removes what is left; returns what was left, for the check. */
  async cleanup(): Promise<{ state: string[]; processes: string[]; mounts: string[]; cgroups: string[] }> {
    const left = existsSync(this.root) ? readdirSync(this.root) : [];
    for (const id of left) await this.runc(["delete", "--force", id]);
    const procs = this.cgroupDirs(this.cgroupParent).flatMap(pidsUnder);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(this.dir) || l.includes(this.root));
    const cgroups = this.cgroupDirs(this.cgroupParent).filter(existsSync);
    for (const d of cgroups) removeTree(d);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.root, { recursive: true, force: true });
    return { state: left, processes: procs, mounts, cgroups: cgroups.flatMap(listTree) };
  }
}

async function starterConfig(env: Env): Promise<Config> {
  if (starter) return starter;
  const dir = join(env.dir, "starter");
  mkdirSync(dir);
  const r = await env.runc(["spec", "--bundle", dir]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (starter = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
}

function pidsUnder(dir: string): string[] {
  try {
    const own = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
    return [...own, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => pidsUnder(join(dir, e.name)))];
  } catch {
    return [];
  }
}

function listTree(dir: string): string[] {
  try {
    return [dir, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => listTree(join(dir, e.name)))];
  } catch {
    return [];
  }
}

function removeTree(dir: string): void {
  for (const d of listTree(dir).reverse()) {
    try {
      rmdirSync(d);
    } catch {
      /* busy: reported */
    }
  }
}

/** Runs body with a fresh Env, then checks that nothing is left. */
export async function withEnv(body: (env: Env) => Promise<void>): Promise<void> {
  const env = new Env();
  let failed = true;
  try {
    await body(env);
    failed = false;
  } finally {
    const left = await env.cleanup();
    if (!failed) expect(left).toEqual({ state: [], processes: [], mounts: [], cgroups: [] });
  }
}

export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(10)) if (await check()) return true;
  return check();
}

/** The state's status, or "gone". */
export async function status(env: Env, id: string): Promise<string> {
  const r = await env.runc(["state", id]);
  return r.code === 0 ? JSON.parse(r.stdout).status : "gone";
}

export { run, tempDir, TOP, type Result };

/** create, with the container's stdout and stderr in files of the test (a pipe would stay open
 * for as long as the container runs, as with runc). */
export async function create(env: Env, id: string, bundle: string, extra: string[] = []): Promise<Result & { out: string; err: string }> {
  const n = Math.floor(Math.random() * 1e9);
  const out = join(env.dir, `${id}.${n}.out`);
  const err = join(env.dir, `${id}.${n}.err`);
  const proc = Bun.spawn([BOXRUNC, "--root", env.root, "create", "--bundle", bundle, ...extra, id], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err) });
  const code = await proc.exited;
  return { code, stdout: "", stderr: readFileSync(err, "utf8"), out, err } as never;
}

/** A command that leaves a process behind (exec --detach, run -d): its stdio are not pipes the test
 * would wait on until that process ends, as conmon's are not. */
export async function detached(env: Env, args: string[]): Promise<{ code: number; stderr: string }> {
  const err = join(env.dir, `detached.${Math.floor(Math.random() * 1e9)}.err`);
  const proc = Bun.spawn([BOXRUNC, "--root", env.root, ...args], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(err) });
  const code = await proc.exited;
  return { code, stderr: readFileSync(err, "utf8") };
}

/** A console socket as conmon listens on one: it takes the pty master the runtime sends, writes
 * input into it, and prints the terminal's size and everything the container writes until it ends. */
export const CONSOLE_RECEIVER = `
import socket, os, sys, fcntl, termios, struct
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 1)
m = fds[0]
rows, cols = struct.unpack("HHHH", fcntl.ioctl(m, termios.TIOCGWINSZ, b"\\0" * 8))[:2]
print("size=%dx%d" % (rows, cols), flush=True)
if len(sys.argv) > 2: os.write(m, (sys.argv[2] + "\\n").encode())
out = b""
while True:
    try: d = os.read(m, 4096)
    except OSError: break
    if not d: break
    out += d
sys.stdout.write(out.decode(errors="replace"))
`;

/** Starts the console receiver at path; resolves once it listens. */
export async function consoleReceiver(path: string, input?: string) {
  const proc = Bun.spawn(["python3", "-c", CONSOLE_RECEIVER, path, ...(input !== undefined ? [input] : [])], { stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the console receiver did not start");
    text += new TextDecoder().decode(value);
  }
  return {
    async output(): Promise<string> {
      let rest = text.slice(text.indexOf("ready\n") + 6);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      await proc.exited;
      return rest;
    },
    kill: () => proc.kill(),
  };
}
