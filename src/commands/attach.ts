/**
 * box attach: box's terminal on a running container's console (the supervisor's socket; protocol in
 * src/container/attach.ts). Ctrl-P Ctrl-Q (or --detach-keys) leaves it running; when its command
 * ends, box ends with its status.
 */
import { defineCommand, type ArgsDef } from "citty";
import { existsSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { DetachWatch, frame, hello, parseDetachKeys, ServerReader, winsizeFrame } from "../container/attach";
import { killContainer } from "../container/signal";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { attachPath, resolveContainer, type ContainerRecord } from "../store/containers";
import type { Layout } from "../store/layout";
import { asDaemon, DAEMON_ERROR, parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  "detach-keys": { type: "string", valueHint: "KEYS", description: "Keys that leave the container running (default ctrl-p,ctrl-q)" },
  "no-stdin": { type: "boolean", description: "Do not send box's stdin to the container" },
  "sig-proxy": { type: "boolean", description: "Pass SIGINT and SIGTERM on to the container (default true; without a tty)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "attach", description: "Attach box's terminal to a running container" }, args });

function writeAll(fd: 1 | 2, data: Uint8Array): void {
  (fd === 1 ? process.stdout : process.stderr).write(data);
}

/** One attach session: resolves with the command's status, or 0 when detached. */
export async function attachSession(layout: Layout, c: ContainerRecord, word: string, opts: { stdin: boolean; keys: number[]; sigProxy: boolean }): Promise<number> {
  const path = attachPath(layout, c.id);
  if (!existsSync(path)) throw new BoxError(`cannot attach to container ${word}: its supervisor offers no console (this build of box's helper cannot attach yet)`, DAEMON_ERROR);
  const wantsStdin = opts.stdin && (c.request?.interactive ?? false);
  if (wantsStdin && c.request?.tty && !process.stdin.isTTY) throw new BoxError("the input device is not a TTY", 1);
  const reader = new ServerReader();
  const watch = new DetachWatch(opts.keys);
  const rows = process.stdout.rows ?? 24, cols = process.stdout.columns ?? 80;
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const raw = wantsStdin && process.stdin.isTTY === true;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      if (raw) process.stdin.setRawMode(false);
      process.stdin.pause();
      process.removeAllListeners("SIGWINCH");
      fn();
    };
    Bun.connect({
      unix: path,
      socket: {
        open(sock) {
          sock.write(hello(wantsStdin, rows, cols));
          if (raw) process.stdin.setRawMode(true);
          if (wantsStdin) {
            process.stdin.on("data", (d: Buffer) => {
              const { send, detach } = watch.feed(d);
              if (send.length > 0) sock.write(frame("i", send));
              if (detach) finish(() => (sock.end(), resolve(0)));
            });
            process.stdin.on("end", () => sock.write(frame("e")));
            process.stdin.resume();
          }
          process.on("SIGWINCH", () => sock.write(winsizeFrame(process.stdout.rows ?? rows, process.stdout.columns ?? cols)));
          if (opts.sigProxy && !c.request?.tty) {
            for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => killContainer(layout, c.id, sig, c));
          }
        },
        data(sock, chunk) {
          try {
            for (const e of reader.push(chunk)) {
              if (e.kind === "error") finish(() => (sock.end(), reject(new BoxError(e.message, DAEMON_ERROR))));
              else if (e.kind === "out") writeAll(1, e.data);
              else if (e.kind === "err") writeAll(2, e.data);
              else if (e.kind === "exit") finish(() => (sock.end(), resolve(e.status)));
            }
          } catch (err) {
            finish(() => (sock.end(), reject(err)));
          }
        },
        close() {
          // The supervisor went without a word: the container ended (or was killed with it).
          finish(() => resolve(isBusy(layout, c.id) ? DAEMON_ERROR : 137));
        },
        error(_sock, err) {
          finish(() => reject(new BoxError(`lost the console of container ${word}: ${err.message}`, DAEMON_ERROR)));
        },
      },
    }).catch((err: Error) => finish(() => reject(new BoxError(`cannot attach to container ${word}: ${err.message}`, DAEMON_ERROR))));
  });
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "attach" });
  if (!line) return 0;
  if (line.words.length !== 1) throw new BoxError("box attach takes one container. See 'box attach --help'.");
  const keys = parseDetachKeys((line.options["detach-keys"] as string | undefined) ?? "ctrl-p,ctrl-q");
  const word = line.words[0]!;
  const layout = storeFor("attach", line, globals);
  const c = await asDaemon(() => resolveContainer(layout, word));
  if (!isBusy(layout, c.id)) throw new BoxError("you cannot attach to a stopped container, start it first", DAEMON_ERROR);
  return attachSession(layout, c, word, { stdin: line.options["no-stdin"] !== true, keys, sigProxy: line.options["sig-proxy"] !== false });
}
