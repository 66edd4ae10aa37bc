import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "ps", flags: [], async run() { throw new BoxError("ps: not yet", 1); } };
export default command;
