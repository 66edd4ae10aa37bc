// Every command of the command table (src/commands/index.ts), not a hand-kept list: --help, -h,
// an unknown flag, box --help's line for it; and shell completion generated from that table.
import { describe, expect, test } from "bun:test";
import type { ArgDef } from "citty";
import { commands, hidden, summaries } from "../../src/commands/index";
import { BOX, box, run, scopeEnv, withRoot } from "../e2e/harness";

const names = Object.keys(commands);

describe("the command table", () => {
  test("every command: --help (and -h where it is not an option, as docker) prints its usage; an unknown flag is docker's error", async () => {
    for (const name of names) {
      const mod = await commands[name]!();
      const shown = String(mod.definition.meta && "name" in mod.definition.meta ? mod.definition.meta.name : name);
      const defs = (mod.definition.args ?? {}) as Record<string, ArgDef>;
      const hasShortH = Object.values(defs).some((a) => "alias" in a && ([] as string[]).concat(a.alias ?? []).includes("h"));
      for (const flag of hasShortH ? ["--help"] : ["--help", "-h"]) {
        const help = await run([BOX, name, flag]);
        expect({ name, flag, code: help.code, stderr: help.stderr, usage: help.stdout.includes(`USAGE box ${shown}`) }).toEqual({ name, flag, code: 0, stderr: "", usage: true });
      }
      const bad = await run([BOX, name, "--no-such-flag"]);
      expect({ name, code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ name, code: 125, stdout: "", stderr: `box: unknown flag: --no-such-flag. See 'box ${shown} --help'.\n` });
      if (hasShortH) expect((await run([BOX, name, "-h"])).stderr).toBe(`box: flag needs an argument: 'h' in -h. See 'box ${shown} --help'.\n`);
    }
  }, 120_000);

  test("box --help lists every command but the hidden ones, with its summary; box help NAME is NAME --help", async () => {
    const top = await run([BOX, "--help"]);
    for (const name of names) {
      if (hidden.has(name)) expect(top.stdout).not.toMatch(new RegExp(`\\n\\s+${name}\\s`));
      else expect({ name, listed: new RegExp(`\\n\\s+${name}\\s+${summaries[name]!.replace(/[()|.*+?[\]]/g, "\\$&")}`).test(top.stdout) }).toEqual({ name, listed: true });
    }
    expect((await run([BOX, "help", "ps"])).stdout).toBe((await run([BOX, "ps", "--help"])).stdout);
    expect(await run([BOX, "frobnicate"])).toMatchObject({ code: 125, stderr: "box: unknown command \"frobnicate\" for \"box\". See 'box --help'.\n" });
  });
});

/** COMPREPLY of bash completing a line (the last word is the one being completed). */
async function complete(root: string, words: string[], shell: "bash" | "zsh" = "bash"): Promise<string[]> {
  const load = shell === "bash" ? 'source <("$BOX" completion bash)' : 'source <("$BOX" completion zsh); emulate sh';
  const script = `${load}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_box; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run([shell, "-c", script], { env: { PATH: `${BOX.replace(/\/box$/, "")}:${process.env.PATH}`, BOX: BOX, BOX_ROOT: root, ...scopeEnv() } });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean).sort();
}

describe("box completion", () => {
  test("bash: commands, flags, flag values, container and image names, groups", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "web", "sleep", "30"]);
      await box(root, ["create", "--name", "made", "alpine", "true"]);
      const reg = await run(["bash", "-c", `source <("${BOX}" completion bash); complete -p box`]);
      expect(reg.stdout).toBe("complete -F _box box\n");
      expect(await complete(root, ["box", "st"])).toEqual(["start", "stats", "stop"]);
      expect(await complete(root, ["box", "stop", ""])).toEqual(["web"]); // running ones
      expect(await complete(root, ["box", "rm", "-f", ""])).toEqual(["made", "web"]);
      expect(await complete(root, ["box", "run", "--netw"])).toEqual(["--network"]);
      expect(await complete(root, ["box", "run", "--network", ""])).toEqual(["bridge", "host", "none"]);
      expect(await complete(root, ["box", "run", "--restart", "un"])).toEqual(["unless-stopped"]);
      expect(await complete(root, ["box", "run", "-d", "--name", "x", "alp"])).toEqual(["alpine:3.20.3"]);
      expect(await complete(root, ["box", "ps", "--no"])).toEqual(["--no-trunc"]);
      expect(await complete(root, ["box", "container", "l"])).toEqual(["list", "logs", "ls"]);
      expect(await complete(root, ["box", "container", "start", ""])).toEqual(["made", "web"]);
      expect(await complete(root, ["box", "--root", root, "exec", "w"])).toEqual(["web"]);
      expect((await box(root, ["rm", "-f", "web", "made"])).code).toBe(0);
    }));

  test("zsh (through bashcompinit) and fish scripts load and complete", () =>
    withRoot(async (root) => {
      await box(root, ["create", "--name", "made", "alpine", "true"]);
      if (Bun.which("zsh")) expect(await complete(root, ["box", "start", ""], "zsh")).toEqual(["made"]);
      if (Bun.which("fish")) {
        const fish = await run(["fish", "-c", `"${BOX}" completion fish | source; complete -C "box sto"; complete -C "box start "`], { env: { PATH: `${BOX.replace(/\/box$/, "")}:${process.env.PATH}`, BOX_ROOT: root } });
        expect(fish.stdout).toMatch(/^stop\tStop running containers.*\nmade\n$/);
      }
      expect((await box(root, ["completion", "tcsh"])).stderr).toBe("box: box completion takes one shell: bash, zsh or fish. See 'box completion --help'.\n");
      expect((await box(root, ["rm", "made"])).code).toBe(0);
    }));
});
