/**
 * The escape suite for box exec: the process that enters a running container, as attacked from
 * inside that container, and the init it joins, pinned so that a reused pid cannot be joined.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSpec } from "../../src/spec/build";
import { resolveCapabilities } from "../../src/spec/capabilities";
import { encodePlan, execRecords } from "../../src/spec/plan";
import { box, spawnBox, withRoot } from "../e2e/harness";
import { HELPER } from "../helper/helper";
import { copyProbe, probe } from "./probe";

beforeAll(() => probe(), 180_000);

/** Runs the racer (probe race-exec) in a container while box exec starts commands in it. */
async function race(root: string, options: string[]): Promise<{ opened: number; caught: number; unconfined: number; out: string }> {
  expect((await box(root, ["run", "-d", ...options, "--name", "target", "sh", "-c", "sleep 120"])).code).toBe(0);
  await copyProbe(root, "target");
  const racer = spawnBox(root, ["exec", "target", "/probe", "race-exec", "60", "/race-stop"]);
  const reader = racer.stdout.getReader();
  let out = new TextDecoder().decode((await reader.read()).value);
  expect(out).toStartWith("racing");
  for (let i = 0; i < 25; i++) expect((await box(root, ["exec", "target", "true"])).code).toBe(0);
  // Commands that live a moment after their execve: the racer must reach those (its control).
  for (let i = 0; i < 5; i++) expect((await box(root, ["exec", "target", "sleep", "0.05"])).code).toBe(0);
  expect((await box(root, ["exec", "target", "touch", "/race-stop"])).code).toBe(0);
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) out += new TextDecoder().decode(chunk.value);
  expect(await racer.exited).toBe(0);
  expect((await box(root, ["rm", "-f", "target"])).code).toBe(0);
  const [, opened, caught, unconfined] = /opened=(\d+) caught=(\d+) unconfined=(\d+)/.exec(out) ?? [];
  return { opened: Number(opened), caught: Number(caught), unconfined: Number(unconfined), out };
}

describe("escape suite: box exec", () => {
  test("a racer in the container never catches an exec'd process before its execve (runc CVE-2016-9962)", () =>
    withRoot(async (root) => {
      const r = await race(root, []);
      // It reached the exec'd commands once they ran: the race was on.
      expect(r.opened).toBeGreaterThan(0);
      // Caught: it opened /proc/PID/environ, mem or fd of a process still running the helper.
      expect({ caught: r.caught, out: r.out.split("\n").slice(0, 5) }).toEqual({ caught: 0, out: expect.anything() });
    }), 60_000);

  test("with SYS_PTRACE it may trace an exec'd process, but never one less confined than the container", () =>
    withRoot(async (root) => {
      const r = await race(root, ["--cap-add", "SYS_PTRACE"]);
      expect(r.opened).toBeGreaterThan(0);
      // Unconfined: a caught process had no seccomp filter or no no_new_privs yet.
      expect({ unconfined: r.unconfined, out: r.out.split("\n").filter((l) => l.startsWith("unconfined")).slice(0, 5) }).toEqual({ unconfined: 0, out: [] });
    }), 60_000);

  test("the exec'd command's parent is outside the container, and it holds no fd of box", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-d", "--name", "c", "sleep", "60"])).code).toBe(0);
      // (The shell execs ls, its last command, in its own process: 3 is ls's directory.)
      const r = await box(root, ["exec", "c", "sh", "-c", "grep PPid /proc/$$/status; ls /proc/$$/fd"]);
      expect(r.stdout).toBe("PPid:\t0\n0\n1\n2\n3\n");
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("exec -t never opens the container's /dev/ptmx: a FIFO or a symlink there changes nothing", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-d", "--name", "c", "sleep", "60"])).code).toBe(0);
      for (const plant of ["rm /dev/ptmx && mkfifo /dev/ptmx", "rm /dev/ptmx && ln -s /dev/zero /dev/ptmx"]) {
        expect((await box(root, ["exec", "c", "sh", "-c", plant])).code).toBe(0);
        const started = Date.now();
        const r = await box(root, ["exec", "-t", "c", "sh", "-c", "tty; echo ok"], { timeoutMs: 10_000 });
        expect({ plant, code: r.code, out: r.stdout }).toEqual({ plant, code: 0, out: "/dev/pts/0\r\nok\r\n" });
        expect(Date.now() - started).toBeLessThan(5000);
      }
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("exec -t refuses, at once, a /dev/pts that is not a devpts or a ptmx that is another file", () =>
    withRoot(async (root) => {
      // SYS_ADMIN: the container may mount over its own /dev/pts.
      const plants: Array<[string, string]> = [
        ["mount -t tmpfs none /dev/pts", "box: refusing the container's /dev/pts: it is not a devpts filesystem\n"],
        ["mkfifo /fifo && mount --bind /fifo /dev/pts/ptmx", "box: cannot open the container's /dev/pts/ptmx: Cross-device link\n"],
      ];
      for (const [plant, message] of plants) {
        expect((await box(root, ["run", "-d", "--cap-add", "SYS_ADMIN", "--name", "c", "sleep", "60"])).code).toBe(0);
        expect((await box(root, ["exec", "c", "sh", "-c", plant])).code).toBe(0);
        const started = Date.now();
        const r = await box(root, ["exec", "-t", "c", "tty"], { timeoutMs: 10_000 });
        expect({ plant, code: r.code, stderr: r.stderr }).toEqual({ plant, code: 125, stderr: message });
        expect(Date.now() - started).toBeLessThan(5000);
        expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
      }
    }));
});

describe("escape suite: box exec joins the init it was told, not a pid reused by another process", () => {
  test("a pid recycled in its PID namespace is refused; the process that holds it now is untouched", async () => {
    // In a PID namespace of its own, a sleep gets pid 2 and is killed; with ns_last_pid set back,
    // another sleep gets pid 2 again. The helper's exec plan names pid 2 with the first one's
    // start time (what box recorded): refused. With the second one's: joined.
    const dir = mkdtempSync(join(tmpdir(), "box-recycle-"));
    try {
      const script = [
        "sleep 30 & first=$!; start1=$(cut -d' ' -f22 /proc/$first/stat); { kill $first; wait $first; } 2>/dev/null",
        "sleep 0.05; echo 1 > /proc/sys/kernel/ns_last_pid; sleep 30 & second=$!; start2=$(cut -d' ' -f22 /proc/$second/stat)",
        'echo "$first $start1 $second $start2"',
        `${HELPER} --plan-fd 3 3<${dir}/stale; echo "stale=$?"; ${HELPER} --plan-fd 3 3<${dir}/current; echo "current=$?"`,
        "{ kill $second; wait $second; } 2>/dev/null",
      ].join("\n");
      for (const f of ["stale", "current"]) Bun.spawnSync(["mkfifo", join(dir, f)]);
      const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
      const reader = proc.stdout.getReader();
      const [first, start1, second, start2] = new TextDecoder().decode((await reader.read()).value).trim().split(" ");
      expect({ first, second }).toEqual({ first: "2", second: "2" });
      expect(start1).not.toBe(start2);
      const spec = buildSpec({
        process: { args: ["true"], env: ["PATH=/usr/bin:/bin"], user: { uid: 0, gid: 0, additionalGids: [] }, home: "/", hostname: "h", tty: false, stdin: false },
        security: { capabilities: resolveCapabilities([], [], false), noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false },
        network: "host",
        rootfs: { kind: "bind", path: "/" },
        etcFiles: { hostname: "/h", hosts: "/h", resolvConf: "/h" },
        cleanup: [],
      });
      writeFileSync(join(dir, "stale"), encodePlan(execRecords(spec, spec.process, 2, [], start1)));
      writeFileSync(join(dir, "current"), encodePlan(execRecords(spec, spec.process, 2, [], start2)));
      let out = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) out += new TextDecoder().decode(chunk.value);
      const stderr = await new Response(proc.stderr).text();
      await proc.exited;
      expect(out).toBe("stale=125\ncurrent=0\n");
      expect(stderr).toBe("box: the container's init (pid 2) is gone: is the container still running?\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the pidfile records the init's start time, which box exec passes on", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--name", "c", "sleep", "60"]);
      const [sup, supStart, init, initStart] = readFileSync(join(root, "run", `${r.stdout.trim()}.pid`), "utf8").trim().split(" ");
      const field22 = (pid: string) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19];
      expect({ supStart, initStart }).toEqual({ supStart: field22(sup!), initStart: field22(init!) });
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));
});
