/**
 * A damaged store: every state file box reads, emptied, truncated or replaced by garbage. Each
 * damaged entry is named in one sentence, skipped by listings, removable with rm -f, and never
 * stops other containers from working; no command crashes, and no wrong process is signalled.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, run, withRoot } from "../e2e/harness";

const DAMAGE: Array<[string, string]> = [
  ["empty", ""],
  ["{}", "{}"],
  ["[]", "[]"],
  ["null", "null"],
  ["garbage", "\x00\xff garbage \x1b[31m"],
  ["a number", "42"],
];

/** The config.json of a container, cut in half: what a full disk used to leave. */
function truncated(text: string): string {
  return text.slice(0, Math.floor(text.length / 2));
}

async function ps(root: string) {
  return box(root, ["ps", "-a", "--format", "json"]);
}

/** ps --format json: one object per line, as docker's. */
function rowsOf(stdout: string): Array<{ Names: string }> {
  return stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { Names: string });
}

describe("a damaged store", () => {
  test("a damaged record is named, skipped by ps, refused by inspect and exec, removed by rm -f; others keep working", () =>
    withRoot(async (root) => {
      const good = await box(root, ["run", "-d", "--name", "good", "sleep", "30"]);
      expect(good.code).toBe(0);
      for (const [label, content] of [...DAMAGE, ["truncated", "?"] as [string, string]]) {
        const made = await box(root, ["run", "--name", "victim", "true"]);
        expect(made.code).toBe(0);
        const id = readFileSync(join(root, "names", "victim"), "utf8").trim();
        const file = join(root, "containers", id, "config.json");
        writeFileSync(file, label === "truncated" ? truncated(readFileSync(file, "utf8")) : content);

        const listed = await ps(root);
        expect({ label, code: listed.code }).toEqual({ label, code: 0 });
        expect(rowsOf(listed.stdout).map((r) => r.Names)).toEqual(["good"]);
        expect(listed.stderr).toContain(`container ${id.slice(0, 12)} is damaged: ${file}`);
        expect(listed.stderr).toContain(`box rm -f ${id.slice(0, 12)} removes it`);
        expect(listed.stderr.split("\n").filter(Boolean)).toHaveLength(1);
        expect(listed.stderr).not.toContain("\x1b");

        const inspect = await box(root, ["inspect", "victim"]);
        expect(inspect.code).toBe(1);
        expect(inspect.stderr).toContain("is damaged");
        // A new container, and the running one, are not disturbed.
        expect((await box(root, ["run", "echo", "still fine"])).stdout).toBe("still fine\n");
        expect((await box(root, ["exec", "good", "true"])).code).toBe(0);
        // rm without -f says what is wrong; rm -f removes every trace, name included.
        expect((await box(root, ["rm", "victim"])).code).toBe(1);
        const rm = await box(root, ["rm", "-f", "victim"]);
        expect({ label, rm: rm.code, stderr: rm.stderr }).toEqual({ label, rm: 0, stderr: "" });
        expect(existsSync(join(root, "containers", id))).toBe(false);
        expect(existsSync(join(root, "names", "victim"))).toBe(false);
      }
      expect((await box(root, ["rm", "-f", "good"])).code).toBe(0);
    }));

  test("a damaged spec.json (the spec of a container's last start) is named by exec and inspect; ps, stop and rm -f still work", () =>
    withRoot(async (root) => {
      for (const [label, content] of [...DAMAGE, ["too large", "x".repeat(5 << 20)] as [string, string]]) {
        const r = await box(root, ["run", "-d", "--name", "victim", "sleep", "30"]);
        expect(r.code).toBe(0);
        const id = r.stdout.trim();
        const file = join(root, "containers", id, "spec.json");
        // The record stays small: ps reads every one, the spec is only read when needed.
        expect(readFileSync(join(root, "containers", id, "config.json"), "utf8")).not.toContain('"spec"');
        expect(JSON.parse(readFileSync(file, "utf8")).linux.seccomp).toMatch(/^([0-9a-f]{16})+$/);
        writeFileSync(file, content);

        const exec = await box(root, ["exec", "victim", "true"]);
        expect({ label, code: exec.code }).toEqual({ label, code: 1 }); // docker: a failure past the command line
        expect(exec.stderr).toContain(`container ${id.slice(0, 12)} is damaged: ${file}`);
        expect(exec.stderr.split("\n").filter(Boolean)).toHaveLength(1);
        expect((await box(root, ["inspect", "victim"])).stderr).toContain(`${file}`);
        const listed = await ps(root);
        expect(rowsOf(listed.stdout).map((row) => row.Names)).toEqual(["victim"]);
        expect(listed.stderr).toBe("");
        const rm = await box(root, ["rm", "-f", "victim"]);
        expect({ label, rm: rm.code, stderr: rm.stderr }).toEqual({ label, rm: 0, stderr: "" });
        expect(existsSync(join(root, "containers", id))).toBe(false);
      }
    }));

  test("a damaged pidfile never makes box signal anything: not itself, not its group, not another process", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--name", "c", "sleep", "30"]);
      const id = r.stdout.trim();
      const pidfile = join(root, "run", `${id}.pid`);
      const original = readFileSync(pidfile, "utf8");
      const bystander = Bun.spawn(["sleep", "30"]);
      try {
        for (const content of ["", "0 0 0\n", "-1 0 -1\n", "1 1 1\n", `${bystander.pid} 12345 ${bystander.pid}\n`, "garbage", "99999999 1 2\n"]) {
          writeFileSync(pidfile, content);
          // A shell of its own stands in for the caller: stop and kill must not touch its group.
          const stop = await run(["setsid", "sh", "-c", `${BOX} --root ${root} stop -t 1 c; ${BOX} --root ${root} kill c; echo survived`]);
          expect({ content, out: stop.stdout.trim().split("\n").at(-1) }).toEqual({ content, out: "survived" });
          expect(bystander.exitCode).toBeNull();
          expect(existsSync(`/proc/${bystander.pid}`)).toBe(true);
        }
        // The container itself is still there, running, and stoppable once its pidfile is whole.
        writeFileSync(pidfile, original);
        expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
      } finally {
        bystander.kill();
      }
    }));

  test("an exit file, a name file or a lock file that is damaged stops nothing", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "--name", "kept", "sh", "-c", "exit 3"])).code).toBe(3);
      const id = readFileSync(join(root, "names", "kept"), "utf8").trim();
      for (const [, content] of DAMAGE) {
        writeFileSync(join(root, "containers", id, "exit"), content);
        const listed = await ps(root);
        expect(listed.code).toBe(0);
        expect(rowsOf(listed.stdout).map((r) => r.Names)).toEqual(["kept"]);
        writeFileSync(join(root, "containers", id, "lock"), content);
        expect((await ps(root)).code).toBe(0);
      }
      expect((await box(root, ["rm", "kept"])).code).toBe(0);
      // A name file left empty or with garbage (a crash in an older box) is taken back.
      for (const [, content] of DAMAGE) {
        writeFileSync(join(root, "names", "taken"), content);
        const r = await box(root, ["run", "--name", "taken", "echo", "ok"]);
        expect(r).toMatchObject({ code: 0, stdout: "ok\n" });
        expect((await box(root, ["rm", "taken"])).code).toBe(0);
      }
      expect(readdirSync(join(root, "names"))).toEqual([]);
    }));
});
