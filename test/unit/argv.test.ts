import { describe, expect, test } from "bun:test";
import { parseLine } from "../../src/cli/argv";
import { parseRunLine } from "../../src/cli/container-args";

/** run's line as box reads it: the words, and the options checked. */
function parseRun(tokens: string[]) {
  const line = parseRunLine(tokens);
  return { ...line, options: { ...line.options, env: (line.options.env as string[] | undefined) ?? [] } as Record<string, unknown> };
}

describe("docker-style command line", () => {
  test("options end at the first word; the rest is verbatim", () => {
    const p = parseRun(["-it", "--name", "x", "alpine", "ls", "-la", "--help", "-e", "A=1"]);
    expect(p.options).toMatchObject({ interactive: true, tty: true, name: "x", env: [] });
    expect(p.words).toEqual(["alpine", "ls", "-la", "--help", "-e", "A=1"]);
    expect(p.help).toBe(false);
  });

  test("values: --k v, --k=v, -k v, -kv; repeatable -e collects in order", () => {
    const p = parseRun(["--hostname=h", "-w", "/srv", "-uroot", "-e", "A=1", "--env", "B=2", "-eC=3", "--env=D=4", "sh"]);
    expect(p.options).toMatchObject({ hostname: "h", workdir: "/srv", user: "root", env: ["A=1", "B=2", "C=3", "D=4"] });
    expect(p.words).toEqual(["sh"]);
  });

  test("a short cluster may end with an option that takes a value", () => {
    const p = parseRun(["-ite", "K=V", "sh"]);
    expect(p.options).toMatchObject({ interactive: true, tty: true, env: ["K=V"] });
  });

  test("-- ends options and marks the words as the command", () => {
    expect(parseRun(["--", "alpine", "-x"])).toMatchObject({ words: ["alpine", "-x"], dashdash: true });
    expect(parseRun(["alpine", "--", "x"])).toMatchObject({ words: ["alpine", "--", "x"], dashdash: false });
  });

  test("--help before the words asks for help; after them it belongs to the command; -h is run's --hostname", () => {
    expect(parseRun(["--help"]).help).toBe(true);
    expect(parseRun(["sh", "--help"]).help).toBe(false);
    expect(parseRun(["-h", "myhost", "alpine", "hostname"])).toMatchObject({ help: false, options: { hostname: "myhost" }, words: ["alpine", "hostname"] });
    expect(parseRun(["-dith", "x", "sh"]).options).toMatchObject({ detach: true, interactive: true, tty: true, hostname: "x" });
    // Elsewhere, as in docker, -h is --help.
    expect(parseLine({ all: { type: "boolean", alias: "a" } }, ["-ah"], { commandName: "t" })).toMatchObject({ help: true, options: { all: true } });
  });

  test("unknown flags and missing values are errors with exit code 125", () => {
    for (const [args, msg] of [
      [["--nope"], "unknown flag: --nope"],
      [["-q"], "unknown shorthand flag: 'q' in -q"],
      [["--name"], "flag needs an argument: --name"],
      [["--tty=maybe"], "flag --tty takes no value, got 'maybe'"],
    ] as const) {
      expect(() => parseRun([...args])).toThrow(msg);
      try {
        parseRun([...args]);
      } catch (e) {
        expect((e as { exitCode: number }).exitCode).toBe(125);
      }
    }
  });

  test("boolean flags accept =true/=false", () => {
    expect(parseRun(["--tty=false", "sh"]).options.tty).toBe(false);
    expect(parseRun(["--interactive=true", "sh"]).options.interactive).toBe(true);
  });

  test("without stopAtFirstWord, options may follow words", () => {
    const p = parseLine({ all: { type: "boolean", alias: "a" } }, ["x", "-a", "y"], { commandName: "t" });
    expect(p).toMatchObject({ words: ["x", "y"], options: { all: true } });
  });
});
