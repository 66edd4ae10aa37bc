/**
 * The console of a container (helper/console.c) is a way in: only its own user may use it, and the
 * container cannot reach it. Attacked from the host as another user, and from inside the container.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { attachRecords, encodePlan } from "../../src/spec/plan";
import { box, removeRoot, tempDir, withRoot } from "../e2e/harness";
import { HELPER } from "../helper/helper";

describe("escape suite: the console", () => {
  test("its socket is its user's alone: another user cannot connect, and no attach plan of theirs gets in", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-dit", "--name", "c", "sh"])).stdout.trim();
      const socket = join(root, "run", `${id}.attach`);
      const st = statSync(socket);
      expect(st.isSocket()).toBe(true);
      expect((st.mode & 0o777).toString(8)).toBe("700");
      expect(st.uid).toBe(0);
      // nobody runs the helper in attach mode on it (a copy it may execute).
      const dir = tempDir("box-console-");
      try {
        chmodSync(dir, 0o755);
        copyFileSync(HELPER, join(dir, "box-helper"));
        chmodSync(join(dir, "box-helper"), 0o755);
        chmodSync(root, 0o755);
        chmodSync(join(root, "run"), 0o755);
        const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", join(dir, "box-helper"), "--plan-fd", "0"], {
          stdin: encodePlan(attachRecords(socket, { detachKeys: [], stdin: false, sigProxy: false })),
        });
        expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 125, stderr: `box: cannot attach to the container's console ${socket}: Permission denied\n` });
      } finally {
        removeRoot(dir);
      }
      expect(await box(root, ["inspect", "-f", "{{.State.Status}}", "c"])).toMatchObject({ stdout: "running\n" });
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));

  test("from inside the container, box's run directory and its sockets are out of reach", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-dit", "--name", "c", "sh"])).code).toBe(0);
      const r = await box(root, ["exec", "c", "sh", "-c", `ls ${join(root, "run")} 2>&1; find / -xdev -type s 2>/dev/null | wc -l`]);
      expect(r.stdout).toBe(`ls: ${join(root, "run")}: No such file or directory\n0\n`);
      expect((await box(root, ["rm", "-f", "c"])).code).toBe(0);
    }));
});
