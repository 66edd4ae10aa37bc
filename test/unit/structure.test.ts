/**
 * The shape of the code, checked: no import cycle between files or between folders (a folder is a
 * concern: cli, commands, container, spec, store, cgroup, net, image, ...), and no file so long
 * that a reader loses its thread. Type-only imports are left out: they vanish at build time.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
/** Data tables, not logic: allowed to be long. */
const TABLES = new Set(["spec/seccomp/x86_64.ts"]);
const MAX_LINES = 300;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/** Value imports of a file (static and dynamic), as paths relative to src. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue; // import type
    const spec = m[2] ?? m[3]!;
    let target = resolve(dirname(file), spec);
    if (!target.endsWith(".ts")) target += ".ts";
    const rel = relative(SRC, target);
    if (!rel.startsWith("..")) out.push(rel);
  }
  // `import { type A, type B } from` imports only types too.
  return out.filter((rel) => {
    const line = text.split("\n").find((l) => l.includes(`"${relative(dirname(file), join(SRC, rel)).replace(/\.ts$/, "")}`));
    return !line || !/^\s*import\s+\{\s*(type\s+\w+\s*,?\s*)+\}\s+from/.test(line);
  });
}

function folderOf(rel: string): string {
  return rel.includes("/") ? rel.split("/")[0]! : rel; // a file at the top is a node of its own
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe("the shape of the code", () => {
  const all = files(SRC).map((f) => relative(SRC, f));

  test("no import cycle between files", () => {
    const graph = new Map(all.map((f) => [f, new Set(importsOf(join(SRC, f)))]));
    expect(findCycle(graph)).toBeUndefined();
  });

  test("no import cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    for (const f of all) {
      const from = folderOf(f);
      if (!graph.has(from)) graph.set(from, new Set());
      for (const to of importsOf(join(SRC, f)).map(folderOf)) if (to !== from) graph.get(from)!.add(to);
    }
    expect(findCycle(graph)).toBeUndefined();
  });

  test("no C file of the helper over 400 lines", () => {
    const dir = resolve(SRC, "../helper");
    const long = readdirSync(dir).filter((f) => f.endsWith(".c")).map((f) => [f, readFileSync(join(dir, f), "utf8").split("\n").length] as const).filter(([, n]) => n > 400);
    expect(long).toEqual([]);
  });

  test(`no TypeScript file over ${MAX_LINES} lines`, () => {
    const long = all.filter((f) => !TABLES.has(f)).map((f) => [f, readFileSync(join(SRC, f), "utf8").split("\n").length] as const).filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });
});
