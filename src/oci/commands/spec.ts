import { BoxError } from "../../errors";
import type { Command } from "../main";
const command: Command = { usage: "", summary: "spec", flags: [], async run() { throw new BoxError("spec: not yet", 1); } };
export default command;
