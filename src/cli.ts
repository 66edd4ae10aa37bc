#!/usr/bin/env bun
/**
 * box: one-file Linux containers. This is the entry point: global options, then a command.
 *
 *   box [--root DIR] COMMAND [OPTIONS] [ARGS...]
 *
 * Each command lives in src/commands/<name>.ts. Parsing follows docker (src/cli/argv.ts): options
 * come before the words, and for `run` everything after the image is the container's, verbatim.
 */
import { parseLine } from "./cli/argv";
import { rawArgs } from "./cli/bytes";
import { rootArgs, rootDefinition } from "./commands/root";
import { commands } from "./commands/index";
import { BoxError, describeSystemError, EXIT } from "./errors";
import { logger } from "./logger";
import { trace } from "./trace";
import { VERSION } from "./version";
import { out } from "./sys/out";

/** box --help ends by saying where the second CLI is. */
const RUNC_FOOTER = `As an OCI runtime: box answers runc's command line when it is started under a name ending in
"runc" (ln -s box box-runc; podman --runtime /path/to/box-runc). See box-runc --help.`;

async function main(argv: string[]): Promise<number> {
  trace("cli.ts:1", "start");
  const line = parseLine(rootArgs, argv, {
    stopAtFirstWord: true,
    commandName: "",
  });
  if (line.options.version) {
    out(`box version ${VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = line.words;
  if (name === undefined || line.help || name === "help") {
    const target = name === "help" && rest[0] ? commands[rest[0]] : undefined;
    if (target) return await (await target()).main(["--help"], { commands });
    const { showHelp } = await import("./cli/help");
    await showHelp(rootDefinition, undefined, RUNC_FOOTER);
    return 0;
  }
  const load = commands[name];
  if (!load) throw new BoxError(`unknown command "${name}" for "box". See 'box --help'.`);
  const cmd = await load();
  return await cmd.main(rest, { root: line.options.root as string | undefined, commands });
}

function report(err: unknown): number {
  if (err instanceof BoxError) {
    logger.error(err.message);
    return err.exitCode;
  }
  logger.error(`unexpected failure: ${describeSystemError(err)}`);
  if (process.env.BOX_DEBUG && err instanceof Error) logger.debug(err.stack ?? "");
  return EXIT.boxFailed;
}

/** The name box was started by: under one ending in "runc" (a link box-runc -> box), it answers
 * runc's command line (src/oci/main.ts), for podman, conmon and containerd, which pass no word. */
function runcName(): boolean {
  const name = process.argv0.slice(process.argv0.lastIndexOf("/") + 1);
  return name.endsWith("runc");
}

// No top-level await: the compiled executable is built with --bytecode, which needs none.
(runcName() ? import("./oci/main").then((m) => m.runcMain(rawArgs())) : main(rawArgs())).then(
  (code) => void (process.exitCode = code),
  (err) => void (process.exitCode = report(err)),
);
