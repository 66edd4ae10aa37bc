import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "update", flags: [], async run() { throw new BoxError("update: not yet", 1); } };
export default command;
