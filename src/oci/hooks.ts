/**
 * The hooks the runc CLI runs itself (the others run in the helper, helper/hooks.c): poststart,
 * by start once the command is released, and poststop, by delete. Each gets the state on its stdin;
 * one still running at its timeout is killed. The first that fails stops the rest: a sentence
 * naming it and how it ended (the callers only warn, as the runtime spec asks).
 */
import type { OciHook } from "./config";

export async function runHooks(kind: string, hooks: readonly OciHook[], state: Record<string, unknown>): Promise<void> {
  for (const h of hooks) {
    const argv = h.args && h.args.length > 0 ? h.args : [h.path];
    let proc;
    try {
      // The hook is its path; args[0] is only the name it is given (as execve takes them).
      proc = Bun.spawn([h.path, ...argv.slice(1)], { argv0: argv[0], stdin: "pipe", stdout: "pipe", stderr: "pipe", env: envOf(h) });
    } catch {
      throw new Error(`the ${kind} hook ${h.path} cannot be executed`);
    }
    const sink = proc.stdin as import("bun").FileSink;
    try {
      sink.write(JSON.stringify(state));
      await sink.end();
    } catch {
      /* the hook did not read its stdin */
    }
    const timer = h.timeout ? setTimeout(() => proc.kill("SIGKILL"), h.timeout * 1000) : undefined;
    const [out, err, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
    if (timer) clearTimeout(timer);
    if (code === 0) continue;
    const said = (err || out).trim().split("\n")[0]?.slice(0, 300) ?? "";
    if (proc.signalCode === "SIGKILL" && h.timeout) throw new Error(`the ${kind} hook ${h.path} did not finish within ${h.timeout} s`);
    throw new Error(`the ${kind} hook ${h.path} failed with exit status ${code}${said ? `: ${said}` : ""}`);
  }
}

function envOf(h: OciHook): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of h.env ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}
