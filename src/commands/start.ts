/**
 * box start: a created or stopped container's command, started again on what its root holds now
 * (its overlay layer is kept between runs, so changes made by an earlier run are still there).
 * Detached, as docker's: the name given is printed once the command runs. With -a (or -i) it runs
 * attached to box's terminal, and box ends with its status.
 */
import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { startContainer } from "../container/start";
import { Undo } from "../container/undo";
import { BoxError } from "../errors";
import { lockPath, resolveContainer } from "../store/containers";
import type { Layout } from "../store/layout";
import { Lock } from "../store/lock";
import { asDaemon, DAEMON_ERROR, parseOrHelp, requireTerminal, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER...", description: "Name, id or unique id prefix" },
  attach: { type: "boolean", alias: "a", description: "Run attached: the container's output on box's, box's exit status its own" },
  interactive: { type: "boolean", alias: "i", description: "Attached, with box's stdin as the command's (for a container made with -i)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "start", description: "Start created or stopped containers" }, args });

/** box itself, to start each of several containers in a process of its own (a start exec's into the helper). */
export function selfCommand(): string[] {
  const script = process.argv[1];
  return script && /\.[cm]?[jt]s$/.test(script) ? [process.execPath, script] : [process.execPath];
}

/**
 * Starts one container in this process (which becomes its supervisor); returns only when it was
 * running already (docker: not an error).
 */
export async function startOne(layout: Layout, word: string, opts: { attach: boolean; stdin: boolean }): Promise<number> {
  const r = await asDaemon(() => resolveContainer(layout, word));
  const lock = Lock.try(lockPath(layout, r.id), false);
  if (!lock) {
    // Running already: docker's start says its name, or (with -a) attaches to it.
    if (!opts.attach) {
      out(word + "\n");
      return 0;
    }
    const { attachSession } = await import("./attach");
    const { parseDetachKeys } = await import("../container/attach");
    return attachSession(layout, r, word, { stdin: opts.stdin, keys: parseDetachKeys("ctrl-p,ctrl-q"), sigProxy: true });
  }
  const undo = new Undo();
  undo.push(() => lock.release());
  try {
    const fresh = resolveContainer(layout, r.id); // read again, under its lock
    if (opts.attach) requireTerminal(opts.stdin && (fresh.request?.interactive ?? false), fresh.request?.tty ?? false);
    return await startContainer(layout, fresh, lock, undo, { announce: word, foreground: opts.attach, stdin: opts.stdin });
  } catch (err) {
    undo.unwind();
    if (err instanceof BoxError && err.exitCode === 125) throw new BoxError(err.message, DAEMON_ERROR);
    throw err;
  }
}

/** Several containers: each in a box process of its own, one after the other; status 1 if any failed. */
export async function startEach(layout: Layout, words: readonly string[], root: string | undefined, mayExec = true): Promise<number> {
  if (words.length === 1 && mayExec) return startOne(layout, words[0]!, { attach: false, stdin: false });
  let code = 0;
  for (const word of words) {
    const child = Bun.spawn([...selfCommand(), ...(root !== undefined ? ["--root", root] : []), "start", word], { stdin: "ignore", stdout: "inherit", stderr: "inherit" });
    if ((await child.exited) !== 0) code = DAEMON_ERROR;
  }
  return code;
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "start" });
  if (!line) return 0;
  if (line.words.length === 0) throw new BoxError("box start needs at least one container. See 'box start --help'.");
  const stdin = line.options.interactive === true;
  const attach = line.options.attach === true || stdin;
  if (attach && line.words.length > 1) throw new BoxError("you cannot start and attach multiple containers at once");
  const layout = storeFor("start", line, globals);
  if (attach) return startOne(layout, line.words[0]!, { attach, stdin });
  return startEach(layout, line.words, (line.options.root as string | undefined) ?? globals.root);
}
