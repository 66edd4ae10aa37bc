import { defineCommand, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  registry: { type: "positional", required: false, valueHint: "[REGISTRY]", description: "Registry host[:port] (default docker.io)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "logout", description: "Forget the credentials box login kept for a registry" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "logout" });
  if (!line) return 0;
  if (line.words.length > 1) throw new BoxError("box logout takes at most one registry. See 'box logout --help'.");
  const { registryKey, removeCredentials } = await import("../image/registry/auth");
  const registry = registryKey(line.words[0] ?? "docker.io");
  const layout = storeFor("logout", line, globals);
  if (!removeCredentials(layout.lib, registry)) throw new BoxError(`box has no credentials for ${registry}`);
  out(`Removing login credentials for ${registry}\n`);
  return 0;
}
