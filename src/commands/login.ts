import { defineCommand, type ArgsDef } from "citty";
import { readFileSync } from "node:fs";
import { globalArgs, type Globals } from "../cli/shared";
import { BoxError } from "../errors";
import { logger } from "../logger";
import { parseOrHelp, storeFor } from "./common";
import { out } from "../sys/out";

const args = {
  registry: { type: "positional", required: false, valueHint: "[REGISTRY]", description: "Registry host[:port] (default docker.io)" },
  username: { type: "string", alias: "u", valueHint: "USER", description: "User name" },
  password: { type: "string", alias: "p", valueHint: "PASSWORD", description: "Password or token (prefer --password-stdin)" },
  "password-stdin": { type: "boolean", description: "Read the password from stdin" },
  "insecure-registry": { type: "string", valueHint: "HOST[:PORT]", description: "Talk plain http to this registry (repeatable)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "login", description: "Log in to a registry (credentials kept in box's store, mode 0600)" }, args });

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "login", repeatable: ["insecure-registry"] });
  if (!line) return 0;
  if (line.words.length > 1) throw new BoxError("box login takes at most one registry. See 'box login --help'.");
  const { registryKey, saveCredentials } = await import("../image/registry/auth");
  const registry = registryKey(line.words[0] ?? "docker.io");
  const username = line.options.username as string | undefined;
  if (!username) throw new BoxError("box login needs a user name: -u USER");
  let password = line.options.password as string | undefined;
  if (line.options["password-stdin"] === true) {
    if (password !== undefined) throw new BoxError("--password and --password-stdin cannot be combined");
    password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
  } else if (password !== undefined) logger.warn("a password on the command line can be seen by other users: prefer --password-stdin");
  if (!password) throw new BoxError("box login needs a password: -p PASSWORD or --password-stdin");
  const layout = storeFor("login", line, globals);
  const { Registry, insecureList } = await import("../image/registry/client");
  const { DEFAULT_HTTP } = await import("../image/registry/http");
  const reg = new Registry(registry, DEFAULT_HTTP, { username, password }, insecureList((line.options["insecure-registry"] as string[] | undefined) ?? []));
  await reg.ping();
  saveCredentials(layout.lib, registry, { username, password });
  out("Login Succeeded\n");
  return 0;
}
