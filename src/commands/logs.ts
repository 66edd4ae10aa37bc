import { defineCommand, type ArgsDef } from "citty";
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { live } from "../container/state";
import { logPath, resolveContainer } from "../store/containers";
import { parseOrHelp, storeFor } from "./common";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  follow: { type: "boolean", alias: "f", description: "Keep printing new output until the container ends" },
  tail: { type: "string", valueHint: "N", description: "Only the last N lines" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "logs", description: "Print the output of a detached container" }, args });

function readFrom(path: string, offset: number): Buffer {
  if (!existsSync(path)) return Buffer.alloc(0);
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, offset + got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export function lastLines(data: Buffer, n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  let at = end;
  for (let i = 0; i < n; i++) {
    at = data.lastIndexOf(0x0a, at - 1);
    if (at < 0) return data;
  }
  return data.subarray(at + 1);
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "logs" });
  if (!line) return 0;
  const tail = line.options.tail as string | undefined;
  if (tail !== undefined && !/^\d+$/.test(tail)) throw new BoxError(`invalid --tail "${tail}": give a number of lines`);
  if (line.words.length !== 1) throw new BoxError("box logs takes one container. See 'box logs --help'.");
  const layout = storeFor("logs", line, globals);
  const c = resolveContainer(layout, line.words[0]!);
  if (!c.detached) throw new BoxError(`container ${line.words[0]} was not detached: its output went to its terminal`);
  const path = logPath(layout, c.id);
  // The rotated older part first, then the current log.
  let data: Buffer = Buffer.concat([readFrom(`${path}.1`, 0), readFrom(path, 0)]);
  if (tail !== undefined) data = lastLines(data, Number(tail));
  writeSync(1, data);
  if (line.options.follow !== true) return 0;
  let offset = existsSync(path) ? statSync(path).size : 0;
  for (;;) {
    const running = live(layout, c.id) !== undefined;
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size < offset) offset = 0; // rotated
    const more = readFrom(path, offset);
    if (more.length > 0) {
      writeSync(1, more);
      offset += more.length;
    } else if (!running) {
      return 0;
    }
    await Bun.sleep(100);
  }
}
