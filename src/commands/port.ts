import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { resolveContainer } from "../store/containers";
import { asDaemon, DAEMON_ERROR, parseOrHelp, storeFor } from "./common";
import { facts, publishedPorts } from "./container-rows";
import { out } from "../sys/out";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  port: { type: "positional", required: false, valueHint: "PRIVATE_PORT[/PROTO]", description: "Only this container port" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "port", description: "List a running container's published ports" }, args });

/** box port C [PORT[/PROTO]]: "80/tcp -> 0.0.0.0:8080" per mapping, or the host addresses of one port. */
export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "port" });
  if (!line) return 0;
  if (line.words.length < 1 || line.words.length > 2) throw new BoxError("box port takes a container and optionally a port. See 'box port --help'.");
  const [word, wanted] = line.words as [string, string | undefined];
  let want: { port: number; proto: string } | undefined;
  if (wanted !== undefined) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(wanted);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new BoxError(`invalid port "${wanted.slice(0, 32)}": use PORT[/tcp|udp]`);
    want = { port: Number(m[1]), proto: m[2] ?? "tcp" };
  }
  const layout = storeFor("port", line, globals);
  const c = await asDaemon(() => resolveContainer(layout, word));
  const ports = publishedPorts(c, facts(layout, c).status);
  const address = (p: (typeof ports)[number]) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}`;
  if (want) {
    const found = ports.filter((p) => p.containerPort === want!.port && p.proto === want!.proto);
    if (found.length === 0) throw new BoxError(`no public port '${want.port}/${want.proto}' published for ${word}`, DAEMON_ERROR);
    out(found.map((p) => address(p) + "\n").join(""));
    return 0;
  }
  out(ports.map((p) => `${p.containerPort}/${p.proto} -> ${address(p)}\n`).join(""));
  return 0;
}
