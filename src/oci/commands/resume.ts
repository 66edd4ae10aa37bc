import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "resume", flags: [], async run() { throw new BoxError("resume: not yet", 1); } };
export default command;
