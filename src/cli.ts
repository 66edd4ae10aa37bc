#!/usr/bin/env bun
/**
 * box: one-file Linux containers. This is the entry point: global options, then a command.
 *
 *   box [--root DIR] COMMAND [OPTIONS] [ARGS...]
 *
 * Each command lives in src/commands/<name>.ts. Parsing follows docker (src/cli/argv.ts): options
 * come before the words, and for `run` everything after the image is the container's, verbatim.
 */
import { defineCommand } from "citty";
import { parseLine } from "./cli/argv";
import { globalArgs } from "./cli/shared";
import { commands, summaries } from "./commands/index";
import { BoxError, describeSystemError, EXIT } from "./errors";
import { logger } from "./logger";
import { VERSION } from "./version";

const rootDefinition = defineCommand({
  meta: { name: "box", version: VERSION, description: "Run Linux containers from one file, with nothing else installed" },
  args: {
    command: { type: "positional", required: false, valueHint: "COMMAND", description: Object.entries(summaries).map(([k, v]) => `${k}: ${v}`).join("; ") },
    version: { type: "boolean", alias: "v", description: "Print the version and exit" },
    ...globalArgs,
  },
});

async function main(argv: string[]): Promise<number> {
  const line = parseLine(rootDefinition.args as NonNullable<typeof rootDefinition.args>, argv, {
    stopAtFirstWord: true,
    commandName: "",
  });
  if (line.options.version) {
    process.stdout.write(`box version ${VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = line.words;
  if (name === undefined || line.help || name === "help") {
    const target = name === "help" && rest[0] ? commands[rest[0]] : undefined;
    const { showHelp } = await import("./cli/help");
    if (target) await showHelp((await target()).definition, rootDefinition);
    else await showHelp(rootDefinition);
    return name === undefined && !line.help ? EXIT.boxFailed : 0;
  }
  const load = commands[name];
  if (!load) throw new BoxError(`unknown command "${name}" for "box". See 'box --help'.`);
  const cmd = await load();
  return await cmd.main(rest, { root: line.options.root as string | undefined });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof BoxError) {
    logger.error(err.message);
    process.exitCode = err.exitCode;
  } else {
    logger.error(`unexpected failure: ${describeSystemError(err)}`);
    if (process.env.BOX_DEBUG && err instanceof Error) logger.debug(err.stack ?? "");
    process.exitCode = EXIT.boxFailed;
  }
}
