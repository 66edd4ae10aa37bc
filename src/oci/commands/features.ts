import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "features", flags: [], async run() { throw new BoxError("features: not yet", 1); } };
export default command;
