import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "exec", flags: [], async run() { throw new BoxError("exec: not yet", 1); } };
export default command;
