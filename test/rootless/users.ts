/**
 * Real users for the rootless tests: made with useradd (with or without subordinate ids in
 * /etc/subuid and /etc/subgid), removed with userdel -r afterwards (their home, and with it their
 * store, goes too). box runs as them through setpriv, with a clean environment: HOME, PATH, USER,
 * no XDG_RUNTIME_DIR (su and setpriv set none), so the store is the default one,
 * ~/.local/share/box, and its live state ~/.local/share/box/run.
 *
 * A network namespace and /dev/net/tun or /dev/fuse for users: the host's are root's alone (mode
 * 0600 on this machine), so a test that needs them runs box in a mount namespace of its own
 * whose /dev/net/tun (or /dev/fuse) is a node of mode 0666 on a private tmpfs, and in a network
 * namespace the test made (never the machine's own).
 */
import { expect } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, run, type BoxOptions, type Result } from "../e2e/harness";

export const SYS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Its first subordinate uid and gid range (none: a user without /etc/subuid lines). */
  sub?: { uid: number; gid: number; count: number };
}

let made = 0;

function subRange(file: string, name: string): { start: number; count: number } | undefined {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
  const m = line && /^[^:]+:(\d+):(\d+)$/.exec(line);
  return m ? { start: Number(m[1]), count: Number(m[2]) } : undefined;
}

export async function makeUser(opts: { subids: boolean }): Promise<TestUser> {
  const name = `boxrl${process.pid % 100000}${made++}${opts.subids ? "s" : "n"}`;
  const args = ["useradd", "-m", "-s", "/bin/sh", ...(opts.subids ? [] : ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]), name];
  const r = await run(args, { env: { PATH: SYS_PATH } });
  if (r.code !== 0) throw new Error(`useradd: ${r.stderr}`);
  const id = await run(["id", "-u", name]);
  const gid = await run(["id", "-g", name]);
  const u: TestUser = { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()), home: `/home/${name}` };
  const su = subRange("/etc/subuid", name), sg = subRange("/etc/subgid", name);
  if (opts.subids && (!su || !sg)) throw new Error(`useradd gave ${name} no subordinate ids`);
  if (su && sg) u.sub = { uid: su.start, gid: sg.start, count: Math.min(su.count, sg.count) };
  return u;
}

/** Processes whose real uid is the user's, or one of its subordinate ids (its containers'). */
export function processesOf(u: TestUser): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      const mine = uid === u.uid || (u.sub !== undefined && uid >= u.sub.uid && uid < u.sub.uid + u.sub.count);
      if (mine && state !== "Z") out.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

export async function removeUser(u: TestUser): Promise<void> {
  for (const line of processesOf(u)) {
    try {
      process.kill(Number(line.split(":")[0]), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await Bun.sleep(50);
  await run(["userdel", "-r", u.name], { env: { PATH: SYS_PATH } });
}

/** The user's store: box's default for a user. */
export function storeOf(u: TestUser): string {
  return join(u.home, ".local/share/box");
}

export interface AsUserOptions extends BoxOptions {
  /** Run in this network namespace (ip netns), with a /dev/net/tun users may open. */
  netns?: string;
  /** A /dev/fuse users may open. */
  fuse?: boolean;
}

/** argv run as the user, with a clean environment. */
export function asUser(u: TestUser, argv: string[], opts: AsUserOptions = {}): Promise<Result> {
  const env = [`HOME=${u.home}`, `PATH=${SYS_PATH}`, `USER=${u.name}`, `LOGNAME=${u.name}`, ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`)];
  const user = ["setpriv", `--reuid=${u.uid}`, `--regid=${u.gid}`, "--init-groups", "env", "-i", ...env, ...argv];
  const devices = [...(opts.netns ? ["mount -t tmpfs tmpfs /dev/net && mknod -m 666 /dev/net/tun c 10 200"] : []), ...(opts.fuse ? ["mount -t tmpfs tmpfs /mnt && mknod -m 666 /mnt/fuse c 10 229 && mount --bind /mnt/fuse /dev/fuse"] : [])];
  let full = user;
  if (devices.length > 0) full = ["unshare", "--mount", "--propagation", "private", "sh", "-c", `${devices.join(" && ")} && exec "$@"`, "sh", ...user];
  if (opts.netns) full = ["nsenter", `--net=/run/netns/${opts.netns}`, ...full];
  return run(full, { ...opts, env: { PATH: SYS_PATH } });
}

/** box as the user; BOX_NETWORK=none unless the test names a network. */
export function rbox(u: TestUser, args: string[], opts: AsUserOptions = {}): Promise<Result> {
  return asUser(u, [BOX, ...args], { ...opts, env: { BOX_NETWORK: "none", ...opts.env } });
}

/** Waits for the user's processes to end (the kernel reaps a PID namespace just after its init). */
async function settle(u: TestUser): Promise<string[]> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = processesOf(u);
    if (left.length === 0) return left;
    await Bun.sleep(20);
  }
  return left;
}

/**
 * Nothing of the user's runs, no mount of the host's mentions its home, its store keeps no container,
 * live state or scratch, and no cgroup box made for it remains.
 */
export async function expectUserClean(u: TestUser): Promise<void> {
  expect(await settle(u)).toEqual([]);
  expect(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(u.home))).toEqual([]);
  const store = storeOf(u);
  for (const sub of ["containers", "run", "names", "tmp", "active"]) {
    const dir = join(store, sub);
    if (existsSync(dir)) expect({ [sub]: readdirSync(dir) }).toEqual({ [sub]: [] });
  }
}
