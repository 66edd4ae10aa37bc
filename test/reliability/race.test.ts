/**
 * Many box commands at once on one store: starts, listings and removals racing each other. A
 * starting container is never called dead, never loses its cgroup to a collector, and every start
 * succeeds.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { box, spawnBox, withRoot } from "../e2e/harness";

describe("box under concurrency", () => {
  test("30 starts while ps -a runs in a loop: every start succeeds, none is ever listed dead", () =>
    withRoot(async (root) => {
      let stop = false;
      const seen = new Set<string>();
      const lister = (async () => {
        let listings = 0;
        while (!stop) {
          const r = await box(root, ["ps", "-a", "--format", "json"]);
          expect(r.code).toBe(0);
          for (const line of r.stdout.split("\n").filter(Boolean)) seen.add((JSON.parse(line) as { State: string }).State);
          listings++;
        }
        return listings;
      })();
      const starts = await Promise.all(
        Array.from({ length: 30 }, (_, i) => box(root, ["run", i % 2 ? "-d" : "--rm", "--network", "none", "sh", "-c", i % 2 ? "sleep 2" : "true"])),
      );
      stop = true;
      const listings = await lister;
      for (const s of starts) expect({ code: s.code, stderr: s.stderr }).toEqual({ code: 0, stderr: "" });
      expect(listings).toBeGreaterThan(3);
      expect(seen.has("dead")).toBe(false);
      const ids = (await box(root, ["ps", "-a", "-q"])).stdout.split("\n").filter(Boolean);
      expect((await box(root, ["rm", "-f", ...ids])).code).toBe(0);
    }), 120_000);
});

describe("what a killed box leaves, with volumes", () => {
  test("40 containers whose supervisors were killed: run and exec look at 8 of them (their cost stays flat), ps looks at all and gives back what each held", () =>
    withRoot(async (root) => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await box(root, ["run", "-d", "--network", "none", "sleep", "60"]);
        expect(r.code).toBe(0);
        ids.push(r.stdout.trim());
      }
      for (const id of ids) {
        const [sup, , init] = readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ");
        process.kill(Number(init), "SIGKILL");
        process.kill(Number(sup), "SIGKILL");
      }
      await Bun.sleep(300);
      expect(readdirSync(join(root, "active")).length).toBe(40);
      // A command about one container: 8 of the 40 are looked at, each one dead, so 32 are left.
      expect((await box(root, ["run", "--rm", "--network", "none", "true"])).code).toBe(0);
      expect(readdirSync(join(root, "active")).length).toBe(32);
      // A listing looks at every one: nothing is left active, every container is there, not running.
      const ps = await box(root, ["ps", "-a", "--format", "{{.State}}"]);
      expect(readdirSync(join(root, "active"))).toEqual([]);
      expect(ps.stdout.split("\n").filter(Boolean).sort()).toEqual(Array(40).fill("dead"));
      expect((await box(root, ["rm", "-f", ...ids])).code).toBe(0);
    }), 120_000);

  test("an ephemeral container killed with box: the next command removes it and its anonymous volume; a named volume stays", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "-v", "/anon", "-v", "keep:/named", "sh", "-c", "echo ready; exec sleep 30"]);
      const reader = proc.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      expect(readdirSync(join(root, "volumes")).length).toBe(2);
      proc.kill("SIGKILL");
      await proc.exited;
      await Bun.sleep(200);
      expect((await box(root, ["ps", "-a", "-q"])).stdout).toBe("");
      expect(readdirSync(join(root, "volumes"))).toEqual(["keep"]);
      expect((await box(root, ["volume", "rm", "keep"])).code).toBe(0);
    }));
});
