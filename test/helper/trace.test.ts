/**
 * The step trace (helper/trace.c): with a 'trace' record, every step writes one line
 * "<usec> <role> <file>:<step> <what> [key=value...]" to the given fd; without one, nothing.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { removeRoot } from "../e2e/harness";
import { plan, prepare, start, type Container } from "./run";

let current: Container | undefined;
afterEach(() => {
  if (current) removeRoot(current.dir);
  current = undefined;
});

const LINE = /^(\d+) (supervisor|container|init|command) ([a-z_]+\.c):(\w+) ([a-z_-]+)( [^\n]*)?$/;

describe("helper: the step trace", () => {
  test("one line per step, in the documented format, from every process, times rising per process", async () => {
    const c = (current = await prepare());
    const r = await start(plan(c, ["true"], { traceFd: 2 }));
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n");
    for (const l of lines) expect(l).toMatch(LINE);
    const steps = lines.map((l) => LINE.exec(l)!).map(([, us, role, file, step, what, rest]) => ({ us: Number(us), role, at: `${file}:${step}`, what, rest: rest ?? "" }));
    const find = (what: string) => steps.find((s) => s.what === what);
    expect(steps[0]).toMatchObject({ role: "supervisor", at: "trace.c:0", what: "start", rest: expect.stringMatching(/^ monotonic-us=\d+$/) });
    expect(steps[0]!.us).toBeLessThan(1000);
    expect(find("clone")).toMatchObject({ role: "supervisor", at: "supervise.c:3" });
    expect(find("namespaces")!.rest).toMatch(/ mnt=\d+ uts=\d+ ipc=\d+ net=\d+ pid=\d+ cgroup=\d+$/);
    expect(find("mount")).toMatchObject({ role: "container", at: "rootfs.c:6", rest: ' source=proc target=/proc type=proc flags=nosuid,nodev,noexec data=""' });
    expect(find("pivot_root")).toMatchObject({ role: "container", at: "rootfs.c:8" });
    expect(find("confine-init")).toMatchObject({ role: "init" });
    expect(find("capabilities")!.rest).toContain(" bounding=CHOWN,");
    expect(find("seccomp")).toMatchObject({ role: "command", at: "command.c:j" });
    expect(steps.filter((s) => s.what === "execve").at(-1)).toMatchObject({ role: "command", rest: " path=/bin/true" });
    for (const role of ["supervisor", "container", "command"]) {
      const times = steps.filter((s) => s.role === role).map((s) => s.us);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  test("without a trace record, nothing is written", async () => {
    const c = (current = await prepare());
    expect(await start(plan(c, ["true"], {}))).toEqual({ code: 0, stdout: "", stderr: "" });
  });
});
