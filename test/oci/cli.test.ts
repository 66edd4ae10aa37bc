/**
 * runc's command line as box answers it under the name box-runc: global options, help, version,
 * features and spec; every error one sentence in the requested log format (text or JSON, on stderr
 * or with --log in the file), with runc's exit statuses; what box cannot do refused in words.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX } from "../e2e/harness";
import { BOXRUNC, create, run, withEnv } from "./harness";

const TEXT_LINE = /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=error msg="(.*)"\n$/;

describe("box-runc: the command line", () => {
  test("under the name box-runc, box answers runc's command line; box --help says so", async () => {
    const v = await run([BOXRUNC, "--version"]);
    expect(v.stdout).toMatch(/^box-runc version \S+\nspec: 1\.1\.0\n$/);
    const help = await run([BOXRUNC, "--help"]);
    expect(help.stdout).toContain("USAGE:\n   box-runc [global options] command");
    for (const c of ["create", "start", "run", "state", "kill", "delete", "exec", "ps", "pause", "resume", "update", "features", "spec"]) expect(help.stdout).toContain(`\n   ${c} `);
    expect((await run([BOXRUNC, "help", "exec"])).stdout).toContain("--process, -p FILE");
    expect((await run([BOXRUNC, "create", "--help"])).stdout).toContain("--console-socket PATH");
    expect((await run([BOX, "--help"])).stdout + (await run([BOX, "--help"])).stderr).toContain("box-runc");
  });

  test("errors: one line in runc's text format, or JSON; with --log the line goes to the file, the sentence to stderr", () =>
    withEnv(async (env) => {
      const text = await env.runc(["state", "nosuch"]);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(TEXT_LINE);
      expect(TEXT_LINE.exec(text.stderr)![1]).toBe("container does not exist");
      const json = await env.runc(["--log-format", "json", "state", "nosuch"]);
      expect(JSON.parse(json.stderr)).toEqual({ level: "error", msg: "container does not exist", time: expect.stringMatching(/Z$/) });
      const log = join(env.dir, "log.json");
      const withLog = await run([BOXRUNC, "--root", env.root, "--log", log, "--log-format", "json", "kill", "nosuch"]);
      expect([withLog.code, withLog.stderr]).toEqual([1, "container does not exist\n"]);
      expect(JSON.parse(readFileSync(log, "utf8"))).toMatchObject({ level: "error", msg: "container does not exist" });
      // The helper's own failures, in the same format: a mount that cannot be made.
      const b = await env.bundle(["true"], (c) => c.mounts.push({ destination: "/x", type: "nosuchfs", source: "none" }));
      const failed = await run([BOXRUNC, "--root", env.root, "--log-format", "json", "run", "--bundle", b, "m"]);
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stderr)).toMatchObject({ level: "error", msg: "cannot mount none on /x in the container: No such device" });
      expect(existsSync(join(env.root, "m"))).toBe(false);
      const created = await run([BOXRUNC, "--root", env.root, "--log", log, "--log-format", "json", "create", "--bundle", b, "m2"]);
      expect([created.code, created.stderr]).toEqual([1, "cannot mount none on /x in the container: No such device\n"]);
      expect(readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l).msg).at(-1)).toBe("cannot mount none on /x in the container: No such device");
    }));

  test("runc's exit statuses: 1 for an error, 3 for an unknown command; bad words and flags named", () =>
    withEnv(async (env) => {
      const cases: Array<[string[], number, string]> = [
        [["bogus"], 3, "No help topic for 'bogus'"],
        [["start"], 1, '"start" requires exactly 1 argument(s)'],
        [["kill"], 1, '"kill" requires a minimum of 1 argument(s)'],
        [["state", "--nosuch", "x"], 1, "flag provided but not defined: -nosuch"],
        [["create", "../x"], 1, "invalid container id format: ../x"],
        [["--log-format", "xml", "state", "x"], 1, 'invalid log format "xml"'],
        [["--systemd-cgroup", "state", "x"], 1, "--systemd-cgroup is not supported: box manages cgroups itself"],
        [["--rootless", "true", "state", "x"], 1, "--rootless true is not supported"],
        [["checkpoint", "x"], 1, '"checkpoint" is not supported: box does not checkpoint containers'],
        [["exec", "--process-label", "x", "c", "true"], 1, "--process-label is not supported by box"],
        [["create", "--preserve-fds", "3", "x"], 1, "--preserve-fds is not supported"],
      ];
      for (const [args, code, message] of cases) {
        const r = await env.runc(args);
        const line = TEXT_LINE.exec(r.stderr);
        expect({ args, code: r.code, message: line ? JSON.parse(`"${line[1]}"`) : r.stderr }).toEqual({ args, code, message: expect.stringContaining(message) });
      }
    }));

  test("a terminal on the stdio of a detached create is refused (box never hands the host's terminal over)", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["true"]);
      const r = await run(["script", "-qec", `${BOXRUNC} --root ${env.root} create --bundle ${b} tty1`, "/dev/null"]);
      expect(r.stdout).toContain("fd 0 is a terminal, and box never hands the host's terminal to a detached container");
      expect(existsSync(join(env.root, "tty1"))).toBe(false);
    }));

  test("features: the runtime spec's features document", async () => {
    const f = JSON.parse((await run([BOXRUNC, "features"])).stdout);
    expect(f).toMatchObject({ ociVersionMin: "1.0.0", ociVersionMax: "1.1.0", hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] });
    expect(f.linux.namespaces).toEqual(["pid", "network", "mount", "ipc", "uts", "cgroup"]);
    expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false, rdma: false });
    expect(f.linux.seccomp.operators).toContain("SCMP_CMP_MASKED_EQ");
    expect(f.linux.capabilities).toContain("CAP_SYS_ADMIN");
    expect(f.mountOptions).toContain("rshared");
  });

  test("spec writes a starter config.json that runs as it is, and refuses to overwrite one", () =>
    withEnv(async (env) => {
      const b = await env.bundle(["true"]);
      const dir = join(env.dir, "fresh");
      await Bun.write(join(dir, ".keep"), "");
      expect((await env.runc(["spec", "--bundle", dir])).code).toBe(0);
      const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      expect(c).toMatchObject({ ociVersion: "1.1.0", root: { path: "rootfs", readonly: true }, process: { terminal: true, args: ["sh"], noNewPrivileges: true } });
      const again = await env.runc(["spec", "--bundle", dir]);
      expect([again.code, again.stderr]).toEqual([1, expect.stringContaining("exists. Remove it first")]);
      // The starter config, without its terminal, on a real root: it runs, read-only.
      c.process.terminal = false;
      c.process.args = ["sh", "-c", "touch /x 2>&1; hostname"];
      c.root.path = join(b, "rootfs");
      c.linux.cgroupsPath = `${env.cgroupParent}/starter`;
      writeFileSync(join(dir, "config.json"), JSON.stringify(c));
      const r = await env.runc(["run", "--bundle", dir, "starter"]);
      expect([r.code, r.stdout]).toEqual([0, "touch: /x: Read-only file system\nbox\n"]);
      expect((await create(env, "s2", dir)).code).toBe(0);
      expect((await env.runc(["delete", "--force", "s2"])).code).toBe(0);
    }));
});
