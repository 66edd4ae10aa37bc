/**
 * src/store/claim.ts: claims appear whole, a live holder keeps its claim, a dead or damaged one is
 * taken back, and many boxes racing for one dead claim (separate processes) end with exactly one
 * holder. No root and no network needed.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { claim, listClaims, parseClaim, readClaim, reclaimIfDead, release } from "../../src/store/claim";
import { run, withRoot } from "../e2e/harness";

/** Each test gets its own store (withRoot, with its leak check); claims go in it. */
let work = "";
let n = 0;
const fresh = () => join(work, `c${n++}`, "claim");
const inRoot = (body: () => void | Promise<void>) => () => withRoot(async (root) => {
  work = root;
  await body();
});
const CLAIM = resolve(import.meta.dir, "../../src/store/claim.ts");

describe("claims", () => {
  test("a claim is one line naming its holder; a live holder keeps it, and the refusal names it", inRoot(() => {
    const path = fresh();
    expect(claim(path, "alpha", () => true)).toEqual({ ok: true });
    expect(readFileSync(path, "utf8")).toBe("alpha\n");
    expect(claim(path, "beta", (h) => h === "alpha")).toEqual({ ok: false, holder: "alpha" });
    expect(readClaim(path)).toBe("alpha");
    // No temporary file is left next to it.
    expect(readdirSync(join(path, ".."))).toEqual(["claim"]);
  }));

  test("a dead holder's claim is taken back; so are empty and garbled ones", inRoot(() => {
    for (const content of ["gone\n", "", "\n", "two\nlines\n", "\x00\x01binary", "x".repeat(2000)]) {
      const path = fresh();
      claim(path, "seed", () => true);
      writeFileSync(path, content);
      expect({ content, got: claim(path, "new", (h) => h !== "gone") }).toEqual({ content, got: { ok: true } });
      expect(readClaim(path)).toBe("new");
    }
    expect(readClaim(join(work, "missing"))).toBeUndefined();
    expect(parseClaim("id name\n")).toBe("id name");
    expect(parseClaim("")).toBeUndefined();
  }));

  test("release gives back only the holder's own claim; reclaimIfDead only a dead one", inRoot(() => {
    const path = fresh();
    claim(path, "alpha", () => true);
    expect(release(path, "beta")).toBe(false);
    expect(reclaimIfDead(path, () => true)).toBe(false);
    expect(existsSync(path)).toBe(true);
    expect(release(path, "alpha")).toBe(true);
    expect(existsSync(path)).toBe(false);
    claim(path, "alpha", () => true);
    expect(reclaimIfDead(path, () => false)).toBe(true);
    expect(existsSync(path)).toBe(false);
    // Listing leaves out the lock and scratch files.
    claim(path, "alpha", () => true);
    writeFileSync(`${path}.tmp-abc`, "x");
    expect(listClaims(join(path, ".."))).toEqual([{ name: "claim", holder: "alpha" }]);
  }));

  test("12 processes racing to take back one dead claim: exactly one holds it, every round", inRoot(async () => {
    const script = join(work, "racer.ts");
    // Each racer: wait for the start file, then claim; "dead" is the only dead holder.
    writeFileSync(script, `
      import { claim } from ${JSON.stringify(CLAIM)};
      import { existsSync } from "node:fs";
      const [path, me, start] = process.argv.slice(2);
      while (!existsSync(start)) await Bun.sleep(1);
      const r = claim(path, me, (h) => h !== "dead");
      console.log(r.ok ? "won" : "lost " + r.holder);
    `);
    for (let round = 0; round < 5; round++) {
      const path = fresh();
      claim(path, "dead", () => true);
      const start = join(work, `start${round}`);
      const racers = Array.from({ length: 12 }, (_, i) => run([process.execPath, script, path, `racer${i}`, start]));
      await Bun.sleep(300);
      writeFileSync(start, "");
      const results = await Promise.all(racers);
      const out = results.map((r) => r.stdout.trim());
      const winners = out.map((o, i) => (o === "won" ? `racer${i}` : undefined)).filter(Boolean);
      expect({ round, winners: winners.length, errors: results.filter((r) => r.code !== 0).map((r) => r.stderr) }).toEqual({ round, winners: 1, errors: [] });
      expect(readClaim(path)).toBe(winners[0]!);
      expect(out.filter((o) => o !== "won")).toEqual(Array(11).fill(`lost ${winners[0]}`));
    }
  }), 60_000);

  test("a reader never sees a claim half made, while another process claims and releases in a loop", inRoot(async () => {
    const path = fresh();
    const script = join(work, "churn.ts");
    writeFileSync(script, `
      import { claim, release } from ${JSON.stringify(CLAIM)};
      const [path] = process.argv.slice(2);
      for (let i = 0; i < 400; i++) { claim(path, "holder-" + i, () => true); release(path, "holder-" + i); }
    `);
    const churn = run([process.execPath, script, path]);
    let done = false;
    void churn.then(() => (done = true));
    const seen = new Set<string>();
    while (!done) {
      const h = readClaim(path);
      seen.add(h === undefined ? "none" : h === "damaged" ? "damaged" : "holder");
      await Bun.sleep(0);
    }
    expect((await churn).code).toBe(0);
    expect(seen.has("damaged")).toBe(false);
  }), 60_000);
});
