import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { resolveContainer } from "../store/containers";
import { parseOrHelp, storeFor } from "./common";
import { describe } from "./ps";

const args = {
  container: { type: "positional", required: true, valueHint: "CONTAINER", description: "Name, id or unique id prefix" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "inspect", description: "Print a container as one JSON document" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "inspect" });
  if (!line) return 0;
  if (line.words.length !== 1) throw new BoxError("box inspect takes one container. See 'box inspect --help'.");
  const layout = storeFor("inspect", line, globals);
  const c = resolveContainer(layout, line.words[0]!);
  const d = describe(layout, c);
  const doc = {
    id: c.id,
    name: c.name ?? null,
    image: c.image,
    imageDigest: c.imageId ? (c.imageId.startsWith("sha256:") ? c.imageId : `sha256:${c.imageId}`) : null,
    argv: c.argv,
    env: c.spec?.process.env ?? c.request?.env ?? [],
    created: c.created,
    state: {
      status: d.status,
      pid: d.pid || null,
      exitCode: d.exitCode ?? null,
      oomKilled: d.oomKilled,
      startedAt: c.startedAt ?? null,
      finishedAt: d.finished ?? null,
    },
    hostname: c.spec?.hostname ?? c.request?.hostname ?? null,
    limits: c.request?.limits ?? {},
    cgroups: c.cgroups,
    capabilities: c.spec?.process.capabilities.bounding ?? c.request?.security.capabilities ?? [],
    mounts: (c.spec?.mounts ?? []).map((m) => ({ destination: m.destination, type: m.type, source: m.source, options: m.options })),
    detached: c.detached,
    autoRemove: c.autoRemove,
  };
  process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  return 0;
}
