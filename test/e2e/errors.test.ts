// Bad input: one clear sentence on stderr, the documented exit code, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, run, spawnBox, tempDir, removeRoot, withRoot } from "./harness";

/** Exactly one line on stderr, starting with "box: ". */
function oneSentence(stderr: string): string {
  const lines = stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("box: ");
  return lines[0]!;
}

describe("box run: bad input", () => {
  test("not root: what needs root (the bridge) is refused before anything is created (test/rootless runs the rest)", async () => {
    const root = tempDir();
    try {
      chmodSync(root, 0o777);
      const r = await run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BOX, "--root", join(root, "state"), "run", "--network", "bridge", "true"]);
      expect(r.code).toBe(125);
      expect(oneSentence(r.stderr)).toBe("box: the bridge network needs root: a rootless container gets --network pasta or slirp4netns (user-mode networking), or none");
      expect(existsSync(join(root, "state"))).toBe(false);
    } finally {
      removeRoot(root);
    }
  });

  test("--rootfs that does not exist, is not a directory, or has no /bin/sh without a command", () =>
    withRoot(async (root) => {
      const scratch = tempDir();
      try {
        const missing = await box(root, ["run", "--rootfs", join(scratch, "nope"), "true"]);
        expect(missing.code).toBe(125);
        expect(oneSentence(missing.stderr)).toBe(`box: the root filesystem ${join(scratch, "nope")} does not exist`);

        writeFileSync(join(scratch, "file"), "x");
        const notDir = await box(root, ["run", "--rootfs", join(scratch, "file"), "true"]);
        expect(notDir.code).toBe(125);
        expect(oneSentence(notDir.stderr)).toBe(`box: the root filesystem ${join(scratch, "file")} is not a directory`);

        mkdirSync(join(scratch, "empty"));
        const noSh = await box(root, ["run", "--rootfs", join(scratch, "empty")]);
        expect(noSh.code).toBe(127);
        expect(oneSentence(noSh.stderr)).toBe(`box: the root filesystem ${join(scratch, "empty")} has no /bin/sh to run: give a command`);
        // The empty rootfs is left as it was.
        expect(readdirSync(join(scratch, "empty"))).toEqual([]);
      } finally {
        removeRoot(scratch);
      }
    }));

  test("unknown options, and options that need a value", () =>
    withRoot(async (root) => {
      const cases: Array<[string[], string]> = [
        [["run", "--bogus", "true"], "box: unknown flag: --bogus. See 'box run --help'."],
        [["run", "-x", "true"], "box: unknown shorthand flag: 'x' in -x. See 'box run --help'."],
        [["run", "-itz", "true"], "box: unknown shorthand flag: 'z' in -itz. See 'box run --help'."],
        [["run", "--hostname"], "box: flag needs an argument: --hostname. See 'box run --help'."],
        [["run", "-e"], "box: flag needs an argument: 'e' in -e. See 'box run --help'."],
        [["--bogus", "run", "true"], "box: unknown flag: --bogus. See 'box --help'."],
        [["frob"], `box: unknown command "frob" for "box". See 'box --help'.`],
      ];
      for (const [args, message] of cases) {
        const r = await box(root, args);
        expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 125, stdout: "" });
        expect(oneSentence(r.stderr)).toBe(message);
      }
    }));

  test("invalid values: hostname, environment, working directory, user, name, image", () =>
    withRoot(async (root) => {
      const cases: Array<[string[], string]> = [
        [["run", "--hostname", "bad_host!", "true"], `box: invalid hostname "bad_host!": use up to 64 letters, digits, '-' and '.'`],
        [["run", "-e", "=x", "true"], `box: invalid environment variable "=x": expected KEY=VALUE`],
        [["run", "-w", "relative/dir", "true"], `box: the working directory "relative/dir" must be an absolute path`],
        [["run", "-u", "ghost", "true"], `box: unknown user "ghost": it is not in the image's /etc/passwd`],
        [["run", "-u", "0:nogroup-here", "true"], `box: unknown group "nogroup-here": it is not in the image's /etc/group`],
        [["run", "--name", "-bad", "true"], `box: invalid container name "-bad": use letters, digits, '_', '.' and '-', starting with a letter or digit`],
        [["run", "127.0.0.1:9/alpine:3.x", "true"], "box: 127.0.0.1:9/alpine:3.x is not an image here, and pulling it failed: cannot reach 127.0.0.1:9: connection refused (for 127.0.0.1:9/alpine:3.x)"],
      ];
      for (const [args, message] of cases) {
        const r = await box(root, args);
        expect({ args, code: r.code }).toEqual({ args, code: 125 });
        expect(oneSentence(r.stderr)).toBe(message);
      }
    }));

  test("a name already in use is refused while its container exists, and free again after box rm", () =>
    withRoot(async (root) => {
      const first = spawnBox(root, ["run", "--name", "web", "sh", "-c", "echo ready; exec sleep 30"]);
      const reader = first.stdout.getReader();
      await reader.read();
      reader.releaseLock();
      const second = await box(root, ["run", "--name", "web", "true"]);
      expect(second.code).toBe(125);
      expect(oneSentence(second.stderr)).toMatch(/^box: the container name "web" is already in use by container [0-9a-f]{12}: remove that container or choose another name$/);
      first.kill("SIGTERM");
      expect(await first.exited).toBe(143);
      // A named container is kept after it ends (as docker does), so its name stays taken until rm.
      expect((await box(root, ["run", "--name", "web", "true"])).code).toBe(125);
      expect((await box(root, ["rm", "web"])).code).toBe(0);
      const third = await box(root, ["run", "--rm", "--name", "web", "echo", "again"]);
      expect(third.code).toBe(0);
      expect(third.stdout).toBe("again\n");
    }));

  test("a name held by a container whose box was killed is freed by box rm", () =>
    withRoot(async (root) => {
      const first = spawnBox(root, ["run", "--name", "db", "sh", "-c", "echo ready; exec sleep 30"]);
      const reader = first.stdout.getReader();
      await reader.read();
      first.kill("SIGKILL");
      await first.exited;
      expect((await box(root, ["rm", "db"])).code).toBe(0);
      const again = await box(root, ["run", "--rm", "--name", "db", "true"]);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
    }));

  test("a setup step that fails inside the container is reported with the step and errno, exit 125", () =>
    withRoot(async (root) => {
      const scratch = tempDir();
      try {
        // /proc in this rootfs is a regular file: mounting proc on it must fail, and say where.
        mkdirSync(join(scratch, "bin"));
        writeFileSync(join(scratch, "proc"), "");
        const r = await box(root, ["run", "--rootfs", scratch, "/bin/true"]);
        expect(r.code).toBe(125);
        expect(oneSentence(r.stderr)).toBe("box: cannot use /proc in the container: it exists and is not a directory");
      } finally {
        removeRoot(scratch);
      }
    }));
});
