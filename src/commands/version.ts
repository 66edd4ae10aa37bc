import { defineCommand, type ArgsDef } from "citty";
import { arch, release } from "node:os";
import { formatDocument } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { VERSION } from "../version";
import { parseOrHelp } from "./common";
import { out } from "../sys/out";

const args = {
  format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "A Go template, like '{{.Client.Version}}' or '{{json .}}'" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "version", description: "Show box's version (client and runtime: one executable)" }, args });

/** docker version's document: box is its own client and its own engine. */
export function versionDoc() {
  const goArch = arch() === "x64" ? "amd64" : arch();
  const bun = `bun ${Bun.version}`;
  return {
    Client: { Platform: { Name: "box" }, Version: VERSION, ApiVersion: "", DefaultAPIVersion: "", GitCommit: "", GoVersion: bun, Os: "linux", Arch: goArch, BuildTime: "", Context: "default" },
    Server: {
      Platform: { Name: "box" },
      Components: [{ Name: "Engine", Version: VERSION, Details: { KernelVersion: release(), Os: "linux", Arch: goArch } }, { Name: "box-helper", Version: VERSION, Details: { Runtime: "embedded, static (Zig 0.11, musl)" } }],
      Version: VERSION,
      ApiVersion: "",
      MinAPIVersion: "",
      GitCommit: "",
      GoVersion: bun,
      Os: "linux",
      Arch: goArch,
      KernelVersion: release(),
    },
  };
}

export async function main(tokens: string[], _globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "version" });
  if (!line) return 0;
  const doc = versionDoc();
  const format = line.options.format as string | undefined;
  if (format !== undefined) {
    out(formatDocument(format, doc));
    return 0;
  }
  const c = doc.Client, s = doc.Server;
  out(
    [
      "Client:",
      ` Version:           ${c.Version}`,
      ` Runtime:           ${c.GoVersion}`,
      ` OS/Arch:           ${c.Os}/${c.Arch}`,
      ` Context:           ${c.Context}`,
      "",
      "Server: (the same executable: box has no daemon)",
      " Engine:",
      `  Version:          ${s.Version}`,
      `  OS/Arch:          ${s.Os}/${s.Arch}`,
      `  Kernel Version:   ${s.KernelVersion}`,
      " box-helper:",
      `  Version:          ${s.Version}`,
      "",
    ].join("\n"),
  );
  return 0;
}
