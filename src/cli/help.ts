import { renderUsage, type CommandDef } from "citty";

/** Usage, as citty renders it from the command's own definition, on stdout (what --help asks for). */
export async function showHelp(cmd: CommandDef<any>, parent?: CommandDef<any>): Promise<void> {
  process.stdout.write((await renderUsage(cmd, parent)) + "\n");
}
