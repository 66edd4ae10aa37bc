import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "pause", flags: [], async run() { throw new BoxError("pause: not yet", 1); } };
export default command;
