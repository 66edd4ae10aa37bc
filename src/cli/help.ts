import { renderUsage, type CommandDef } from "citty";
import { out } from "../sys/out";
import { isatty } from "../sys/terminal";

// ESC [ ... m: the colours citty adds; kept for terminals, dropped for pipes and files.
const ANSI = /\x1b\[[0-9;]*m/g;

/** Usage, rendered by citty from the command's own definition, on stdout (what --help asks for). */
export async function showHelp(cmd: CommandDef<any>, parent?: CommandDef<any>, footer?: string): Promise<void> {
  let text = (await renderUsage(cmd, parent)).trimEnd() + "\n";
  if (footer) text += "\n" + footer.trimEnd() + "\n";
  if (!isatty(1) || process.env.NO_COLOR) text = text.replace(ANSI, "");
  text = text.replace(/[ \t]+$/gm, "");
  out(text);
}
