/**
 * box run --explain and box exec --explain: every step on stderr, in words, in order, each with its
 * time and its place in the source; each checked against what the host sees of the running
 * container (namespace inodes in /proc/PID/ns, its mountinfo, its cgroups and the limits written,
 * its command's capabilities and seccomp). The container's own output is untouched; BOX_TRACE=1
 * gives the raw lines of both the front end and the helper.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { CAPABILITIES } from "../../src/spec/capabilities";
import { boxIn, inNetns } from "../net/netns";
import { box, hostNs, spawnBox, TOP, withRoot } from "./harness";

interface Line {
  ms: number;
  where: string;
  role: string;
  text: string;
}

const EXPLAINED = /^box +(\d+\.\d\d) ms  (\S+) +(\S+) +(.*)$/;

function parse(stderr: string): Line[] {
  return stderr.split("\n").filter(Boolean).map((l) => {
    const m = EXPLAINED.exec(l);
    if (!m) throw new Error(`not an explained line: ${l}`);
    return { ms: Number(m[1]), where: m[2]!, role: m[3]!, text: m[4]! };
  });
}

/** Reads a spawned box's stderr until a line matches (the rest keeps coming in `more`). */
async function readUntil(stream: ReadableStream<Uint8Array>, done: RegExp): Promise<{ text: string; more: Promise<string> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!done.test(text)) {
    const r = await reader.read();
    if (r.done) return { text, more: Promise.resolve("") };
    text += decoder.decode(r.value, { stream: true });
  }
  const more = (async () => {
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value, { stream: true });
    return rest;
  })();
  return { text, more };
}

const mountinfo = (pid: number) =>
  readFileSync(`/proc/${pid}/mountinfo`, "utf8").trim().split("\n").map((l) => {
    const f = l.split(" ");
    const dash = f.indexOf("-");
    return { target: f[4]!, options: `${f[5]},${f[dash + 3]}`.split(","), type: f[dash + 1]! };
  });

describe("box run --explain", () => {
  test("tells every step from box's start to the command, each one what the host sees of the container", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "--explain", "-m", "64m", "--pids-limit", "100", "sleep", "30"]);
      const { text, more } = await readUntil(proc.stderr, /the command runs;.*\n/);
      const lines = parse(text);
      try {
        // The first line is box's start; times never go back.
        expect(lines[0]).toMatchObject({ ms: 0, where: "src/cli.ts:1", role: "box" });
        // Times rise within each process (the container's init and its command run side by side).
        for (const role of new Set(lines.map((l) => l.role))) {
          const times = lines.filter((l) => l.role === role).map((l) => l.ms);
          expect({ role, times }).toEqual({ role, times: [...times].sort((a, b) => a - b) });
        }
        const handover = lines.findIndex((l) => l.where === "src/container/start.ts:5");
        expect(lines.slice(0, handover + 1).every((l) => l.role === "box")).toBe(true);
        expect(lines.slice(handover + 1).every((l) => l.role !== "box" && l.ms >= lines[handover]!.ms)).toBe(true);
        // Every line names a file of box and a step that file marks as such.
        for (const l of lines) {
          const [file, step] = [l.where.slice(0, l.where.lastIndexOf(":")), l.where.slice(l.where.lastIndexOf(":") + 1)];
          const source = readFileSync(join(TOP, file), "utf8");
          const marks = file.startsWith("helper/") ? [`TRACE("${step}"`, "TRACE(step"] : [`"${file.slice(4)}:${step}"`, `function ${step}(`];
          expect({ where: l.where, found: marks.some((m) => source.includes(m)) }).toEqual({ where: l.where, found: true });
        }
        const find = (re: RegExp) => lines.find((l) => re.test(l.text));
        // The namespaces, by inode, as /proc/PID/ns of the container's first process shows them.
        const pid = Number(/first process, pid (\d+) here/.exec(find(/^clone\(\)/)!.text)![1]);
        const ns = find(/^its namespaces, as ls -l \/proc\/\d+\/ns shows them/)!.text;
        for (const kind of ["mnt", "uts", "ipc", "net", "pid"]) {
          const inode = new RegExp(`${kind}:\\[(\\d+)\\]`).exec(ns)![1];
          expect(`${kind}:[${inode}]`).toBe(readlinkSync(`/proc/${pid}/ns/${kind}`));
          expect(`${kind}:[${inode}]`).not.toBe(hostNs(kind));
        }
        // Its cgroup namespace came after the cgroup join, so the line shows the host's, then the unshare.
        expect(ns).toContain(`cgroup:[${/\[(\d+)\]/.exec(hostNs("cgroup"))![1]}] (still the host's)`);
        expect(find(/^unshare\(CLONE_NEWCGROUP\)/)).toBeDefined();
        expect(readlinkSync(`/proc/${pid}/ns/cgroup`)).not.toBe(hostNs("cgroup"));
        // Every mount, with its type and flags, in the container's mountinfo; nothing else is
        // mounted there (the host's root is detached after pivot_root).
        const seen = mountinfo(pid);
        const targets = new Set<string>(["/"]);
        for (const l of lines.filter((l) => l.role === "container")) {
          const m = /^mount (\S+) on (\S+), type (\S+), flags (\S+)/.exec(l.text);
          const other = /^(?:bind-mount \S+ on|bind the host's|bind|mask|remount) (\/[^\s:]*)/.exec(l.text);
          if (m && m[2]!.startsWith(root)) {
            expect(seen.find((s) => s.target === "/")).toMatchObject({ type: m[3] });
          } else if (m) {
            targets.add(m[2]!);
            const entry = seen.findLast((s) => s.target === m[2]);
            expect({ target: m[2], type: entry?.type }).toEqual({ target: m[2], type: m[3] });
            for (const f of m[4]!.split(",").filter((f) => ["ro", "nosuid", "nodev", "noexec"].includes(f))) expect({ target: m[2], f, has: entry!.options.includes(f) }).toEqual({ target: m[2], f, has: true });
          } else if (other) targets.add(other[1]!);
        }
        expect(seen.filter((s) => !targets.has(s.target)).map((s) => s.target)).toEqual([]);
        expect(find(/^pivot_root\("\.", "\."\) into the new root, then umount2/)).toBeDefined();
        // The cgroups box made exist, with the limits written.
        const dirs = lines.filter((l) => l.where === "src/cgroup/setup.ts:mkdir").map((l) => l.text.slice("mkdir ".length));
        expect(dirs.length).toBeGreaterThan(0);
        for (const d of dirs) expect(readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
        const writes = lines.filter((l) => l.where === "src/cgroup/setup.ts:write").map((l) => /^write (\S+) to (\S+?)(:|$)/.exec(l.text)!);
        expect(writes.map((w) => w[2]!.split("/").pop()).sort()).toEqual(expect.arrayContaining(["pids.max"]));
        for (const w of writes) expect({ file: w[2], value: readFileSync(w[2]!, "utf8").trim() }).toEqual({ file: w[2], value: w[1]! });
        expect(writes.find((w) => w[2]!.endsWith("pids.max"))![1]).toBe("100");
        expect(writes.some((w) => /memory\.(max|limit_in_bytes)$/.test(w[2]!) && w[1] === String(64 << 20))).toBe(true);
        // The command: capabilities kept and dropped, seccomp, no_new_privs, the execve that ran it.
        const command = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim());
        const status = readFileSync(`/proc/${command}/status`, "utf8");
        const kept = /capabilities kept \(bounding, effective, permitted\): ([A-Z_ ]+); dropped: ([A-Z_ ]+);/.exec(find(/^capabilities kept/)!.text)!;
        const mask = kept[1]!.split(" ").reduce((m, c) => m | (1n << BigInt(CAPABILITIES[c]!)), 0n);
        expect(BigInt("0x" + /CapBnd:\s+(\w+)/.exec(status)![1])).toBe(mask);
        expect(BigInt("0x" + /CapEff:\s+(\w+)/.exec(status)![1])).toBe(mask);
        expect(kept[2]!.split(" ")).toContain("SYS_ADMIN");
        expect(status).toMatch(/Seccomp:\s+2/);
        expect(status).toMatch(/NoNewPrivs:\s+1/);
        expect(find(/^prctl\(PR_SET_NO_NEW_PRIVS\) = 1, then seccomp: \d+ BPF instructions, default action EPERM/)).toBeDefined();
        expect(lines.filter((l) => l.text.startsWith("execve(")).at(-1)!.text).toStartWith('execve("/bin/sleep")');
        expect(readFileSync(`/proc/${command}/cmdline`, "utf8")).toBe("sleep\x0030\x00");
        expect(lines.at(-1)).toMatchObject({ role: "supervisor", where: "helper/supervise.c:6" });
      } finally {
        proc.kill("SIGTERM");
      }
      expect(await proc.exited).toBe(143);
      // Nothing more is explained after the command runs, and the relay is gone with the helper.
      expect(await more).toBe("");
      for (let i = 0; i < 50 && relays().length > 0; i++) await Bun.sleep(20);
      expect(relays()).toEqual([]);
    }), 60_000);

  test("the container's stdout is byte for byte its command's; stderr holds only the story and its own", () =>
    withRoot(async (root) => {
      const script = 'printf "a\\000b\\377\\n"; echo "to stderr" >&2';
      const plain = await box(root, ["run", "sh", "-c", script]);
      const told = await box(root, ["run", "--explain", "sh", "-c", script]);
      expect(told.code).toBe(0);
      expect(Buffer.from(told.out).equals(Buffer.from(plain.out))).toBe(true);
      expect(Buffer.from(told.out)).toEqual(Buffer.from([0x61, 0, 0x62, 0xff, 0x0a]));
      const rest = told.stderr.split("\n").filter((l) => l && !EXPLAINED.test(l));
      expect(rest).toEqual(["to stderr"]);
      expect(plain.stderr).toBe("to stderr\n");
    }));

  test("-d --explain is refused in one sentence; a failing step is still told, then said", () =>
    withRoot(async (root) => {
      const d = await box(root, ["run", "-d", "--explain", "true"]);
      expect(d).toMatchObject({ code: 125, stdout: "", stderr: "box: box run --explain tells how a container is made as it runs in front of you: it cannot be combined with -d\n" });
      const nf = await box(root, ["run", "--explain", "--", "nosuchcommand"]);
      expect(nf.code).toBe(127);
      expect(nf.stderr).toContain('execve("/bin/nosuchcommand")');
      expect(nf.stderr).toContain("nosuchcommand: command not found");
    }));
});

describe("box run --explain --network bridge", () => {
  test("tells the veth pair, the address and the route the container then has (in a network namespace of the test's)", () =>
    withRoot((root) =>
      inNetns(async (ns) => {
        const r = await boxIn(ns, root, ["run", "--explain", "--network", "bridge", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; ip route | grep default | cut -d' ' -f1-5"]);
        expect(r.code).toBe(0);
        const [addr, route] = r.stdout.trim().split("\n");
        const lines = parse(r.stderr.split("\n").filter((l) => EXPLAINED.test(l)).join("\n"));
        const planned = lines.find((l) => l.where === "src/container/start.ts:2" && l.text.startsWith("eth0 will be"))!.text;
        const [, cidr, gateway, bridge, hostVeth] = /^eth0 will be (\S+), default route via (\S+) on the bridge (\S+); the host's end of the veth pair will be (\S+)$/.exec(planned)!;
        expect(cidr).toBe(addr);
        expect(route).toBe(`default via ${gateway} dev eth0`);
        expect(lines.find((l) => l.where === "helper/host.c:4" && l.text.startsWith("the veth pair"))!.text).toBe(`the veth pair: ${hostVeth} on the host, attached to ${bridge}; its peer moved into the container's network namespace as eth0`);
        expect(lines.find((l) => l.where === "helper/container.c:7")!.text).toBe(`loopback up; eth0 up with ${cidr}, default route via ${gateway} (netlink, no ip command needed)`);
        expect((await boxIn(ns, root, ["network", "prune"])).code).toBe(0);
      }, root)), 60_000);
});

describe("box exec --explain", () => {
  test("tells how a process joins a running container: init pinned, setns, its confinement, execve", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "told", "sleep", "30"])).stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const init = Number(readFileSync(join(root, "run", `${id}.pid`), "utf8").trim().split(" ")[2]);
      const r = await box(root, ["exec", "--explain", "told", "sh", "-c", "echo joined"]);
      expect(r).toMatchObject({ code: 0, stdout: "joined\n" });
      const lines = parse(r.stderr);
      expect(lines[0]).toMatchObject({ ms: 0, where: "src/cli.ts:1" });
      expect(lines.find((l) => l.text.startsWith("the container's init, pid"))!.text).toContain(`pid ${init}, pinned by a pidfd`);
      expect(lines.find((l) => l.text.startsWith("setns() into the init's"))).toMatchObject({ where: "helper/exec.c:4b", role: "joiner" });
      expect(lines.find((l) => l.text.startsWith("capabilities kept"))).toBeDefined();
      expect(lines.filter((l) => l.text.startsWith("execve(")).at(-1)!.text).toStartWith('execve("/bin/sh")');
      expect((await box(root, ["rm", "-f", "told"])).code).toBe(0);
    }), 60_000);
});

describe("BOX_TRACE=1", () => {
  test("gives the raw lines of the front end and of the helper, on one clock", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "true"], { env: { BOX_TRACE: "1" } });
      expect(r.code).toBe(0);
      const raw = r.stderr.trim().split("\n");
      for (const l of raw) expect(l).toMatch(/^\d+ (front|supervisor|container|init|command) [\w./-]+:\w+ [a-z_-]+( .*)?$/);
      const exec = /front container\/start\.ts:5 exec monotonic-us=(\d+)$/.exec(raw.find((l) => l.includes(" exec "))!)![1];
      const start = /supervisor trace\.c:0 start monotonic-us=(\d+)$/.exec(raw.find((l) => l.includes("trace.c:0"))!)![1];
      expect(Number(start) - Number(exec)).toBeGreaterThanOrEqual(0);
      expect(Number(start) - Number(exec)).toBeLessThan(1_000_000);
      expect(raw.some((l) => / command command\.c:m execve path=\/bin\/true$/.test(l))).toBe(true);
    }));
});

/** The relays of --explain still running (box __explain processes). */
function relays(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("__explain\0--origin-us")) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}
