import { isatty } from "../sys/terminal";
/**
 * box attach: box's terminal on a running container's console (the supervisor's socket; protocol in
 * helper/console.c), relayed by the helper in attach mode (src/container/console.ts). Ctrl-P Ctrl-Q
 * (or --detach-keys) leaves it running; when its command ends, box ends with its status.
 */
import { defineCommand, type ArgsDef } from "citty";
import { existsSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { parseDetachKeys } from "../container/attach";
import { attachTo } from "../container/console";
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

/**
 * One attach session: this process becomes a client of the container's console (helper/attach.c)
 * and ends with the command's status, or 0 when detached.
 */
export async function attachSession(layout: Layout, c: ContainerRecord, word: string, opts: { stdin: boolean; keys: number[]; sigProxy: boolean }): Promise<number> {
  const path = attachPath(layout, c.id);
  if (!existsSync(path)) throw new BoxError(`cannot attach to container ${word}: its supervisor offers no console (this build of box's helper cannot attach yet)`, DAEMON_ERROR);
  const wantsStdin = opts.stdin && (c.request?.interactive ?? false);
  if (wantsStdin && c.request?.tty && !isatty(0)) throw new BoxError("the input device is not a TTY", 1);
  // docker's --sig-proxy is for a container without a terminal: with one, a signal ends box alone.
  return attachTo(layout, c.id, { detachKeys: opts.keys, stdin: wantsStdin, sigProxy: opts.sigProxy && !c.request?.tty });
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
