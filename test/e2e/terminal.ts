/** box driven through a real pty, as a person at a terminal would (Bun.spawn's terminal). */
import { BOX, scopeEnv } from "./harness";

export interface Session {
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  waitFor(text: string, ms?: number): Promise<void>;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  exited: Promise<number>;
}

export function inTerminal(root: string, args: string[], cols = 80, rows = 24): Session {
  let out = "";
  const proc = Bun.spawn([BOX, "--root", root, ...args], {
    terminal: { cols, rows, data: (_t, d) => void (out += new TextDecoder().decode(d)) },
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm", BOX_NETWORK: "none", ...scopeEnv() },
  });
  return {
    proc,
    output: () => out,
    async waitFor(text, ms = 10_000) {
      const end = Date.now() + ms;
      while (!out.includes(text)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(out)}`);
        await Bun.sleep(10);
      }
    },
    write: (d) => void proc.terminal!.write(d),
    resize: (c, r) => proc.terminal!.resize(c, r),
    exited: proc.exited.then((code) => {
      proc.terminal?.close();
      return code;
    }),
  };
}
