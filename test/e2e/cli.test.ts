// box --help, box run --help, box --version: what a newcomer reads first.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, TOP, box, run, withRoot } from "./harness";

const version = JSON.parse(readFileSync(join(TOP, "package.json"), "utf8")).version;

describe("box: help and version", () => {
  test("--version and -v print the version on stdout", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await run([BOX, flag]);
      expect(r).toMatchObject({ code: 0, stdout: `box version ${version}\n`, stderr: "" });
    }
  });

  test("--help lists the commands and global options, in plain text when not on a terminal", async () => {
    for (const args of [["--help"], ["-h"], []]) {
      const r = await run([BOX, ...args]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE box [OPTIONS]");
      for (const [cmd, what] of [["run", "Run a command in a new container"], ["pull", "Pull an image from a registry"], ["import", "Import a root filesystem tarball"], ["images", "List the images"], ["rmi", "Remove images"]]) {
        expect(r.stdout).toMatch(new RegExp(`\\n\\s+${cmd}\\s+${what}`));
      }
      expect(r.stdout).toMatch(/--root=<DIR>\s+Where box keeps all its state/);
      expect(r.stdout).not.toContain("\x1b[");
    }
  });

  test("run --help documents every option, the image-or-command rule and the exit statuses", async () => {
    for (const args of [["run", "--help"], ["help", "run"]]) {
      const r = await run([BOX, ...args]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE box run [OPTIONS] [IMAGE] [COMMAND]");
      for (const opt of ["--rootfs=<DIR>", "--name=<NAME>", "-h, --hostname=<NAME>", "-e, --env=<KEY=VAL>", "-w, --workdir=<DIR>", "-u, --user=<UID[:GID]>", "-i, --interactive", "-t, --tty", "--root=<DIR>"]) {
        expect(r.stdout).toContain(opt);
      }
      expect(r.stdout).toContain("IMAGE OR COMMAND");
      expect(r.stdout).toContain("125 when box failed");
    }
  });

  test("every command has --help", async () => {
    for (const cmd of ["run", "pull", "import", "images", "rmi"]) {
      const r = await run([BOX, cmd, "--help"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 0 });
      expect(r.stdout).toContain(`USAGE box ${cmd}`);
    }
  });

  test("--help after the image belongs to the container's command", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "alpine", "ls", "--help"]);
      expect(r.stdout).not.toContain("USAGE");
      expect(r.stderr).toContain("Usage: ls");
    }));
});
