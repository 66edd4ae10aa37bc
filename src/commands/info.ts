import { defineCommand, type ArgsDef } from "citty";
import { readFileSync } from "node:fs";
import { arch, availableParallelism, hostname, release, totalmem } from "node:os";
import { formatDocument } from "../cli/format";
import { globalArgs, type Globals } from "../cli/shared";
import { detect } from "../cgroup/detect";
import { statusOf } from "../container/state";
import { listContainers } from "../store/containers";
import { VERSION } from "../version";
import { parseOrHelp, storeFor } from "./common";
import { listImages } from "./image-access";
import { out } from "../sys/out";

const args = {
  format: { type: "string", alias: "f", valueHint: "TEMPLATE", description: "A Go template, like '{{.ContainersRunning}}' or '{{json .}}'" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "info", description: "Show what box runs on and what its store holds" }, args });

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

/** docker's binary sizes with two decimals: 23.47GiB */
function gib(n: number): string {
  return `${(n / 1024 ** 3).toFixed(2)}GiB`;
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "info" });
  if (!line) return 0;
  const layout = storeFor("info", line, globals);
  const states = listContainers(layout).flatMap((l) => ("record" in l ? [statusOf(layout, l.record)] : ["dead" as const]));
  const cg = detect();
  const info = {
    ID: "",
    Containers: states.length,
    ContainersRunning: states.filter((s) => s === "running").length,
    ContainersPaused: 0,
    ContainersStopped: states.filter((s) => s !== "running").length,
    Images: listImages(layout).length,
    Driver: "overlay",
    LoggingDriver: "k8s-file",
    CgroupDriver: "cgroupfs",
    CgroupVersion: cg.mode === "v2" ? "2" : "1",
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSType: "linux",
    Architecture: arch() === "x64" ? "x86_64" : arch(),
    NCPU: availableParallelism(),
    MemTotal: totalmem(),
    Name: hostname(),
    ServerVersion: VERSION,
    DockerRootDir: layout.lib,
    SecurityOptions: ["name=seccomp,profile=builtin", "name=no-new-privileges"],
    Runtimes: { box: { path: "box-helper (embedded)" } },
    DefaultRuntime: "box",
  };
  const format = line.options.format as string | undefined;
  if (format !== undefined) {
    out(formatDocument(format, info));
    return 0;
  }
  out(
    [
      "Client:",
      ` Version:    ${VERSION}`,
      "",
      "Server:",
      ` Containers: ${info.Containers}`,
      `  Running: ${info.ContainersRunning}`,
      `  Paused: ${info.ContainersPaused}`,
      `  Stopped: ${info.ContainersStopped}`,
      ` Images: ${info.Images}`,
      ` Server Version: ${VERSION}`,
      ` Storage Driver: ${info.Driver}`,
      ` Logging Driver: ${info.LoggingDriver}`,
      ` Cgroup Driver: ${info.CgroupDriver}`,
      ` Cgroup Version: ${info.CgroupVersion}${cg.mode === "hybrid" ? " (hybrid: v1 controllers beside an empty cgroup2)" : ""}`,
      ` Runtimes: box`,
      ` Default Runtime: box`,
      " Security Options:",
      "  seccomp",
      "   Profile: builtin",
      "  no-new-privileges",
      ` Kernel Version: ${info.KernelVersion}`,
      ` Operating System: ${info.OperatingSystem}`,
      ` OSType: ${info.OSType}`,
      ` Architecture: ${info.Architecture}`,
      ` CPUs: ${info.NCPU}`,
      ` Total Memory: ${gib(info.MemTotal)}`,
      ` Name: ${info.Name}`,
      ` Docker Root Dir: ${info.DockerRootDir}`,
      "",
    ].join("\n"),
  );
  return 0;
}
