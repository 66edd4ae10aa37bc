import { defineCommand, type ArgsDef } from "citty";
import { parseLine } from "../cli/argv";
import { globalArgs, type Globals } from "../cli/shared";
import { isBusy } from "../container/state";
import { BoxError } from "../errors";
import { humanSize } from "../human";
import { logger } from "../logger";
import { shortId } from "../store/ids";
import type { Layout } from "../store/layout";
import { volumeSize } from "../volume/size";
import { DamagedVolume, ensureVolume, listVolumes, readVolume, removeVolume, volumeData, volumeUsers, withVolumeLock, type VolumeRecord } from "../volume/store";
import { printTable, showCommandHelp, storeFor } from "./common";
import { out } from "../sys/out";
import { errOut } from "../sys/out";

const args = {
  command: { type: "positional", required: true, valueHint: "create|ls|inspect|rm|prune", description: "What to do" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "volume", description: "Manage volumes (create, ls, inspect, rm, prune)" }, args });

const create_ = {
  label: { type: "string", valueHint: "KEY=VALUE", description: "A label (repeatable)" },
  driver: { type: "string", alias: "d", valueHint: "local", description: "The driver (only local)" },
  ...globalArgs,
} as const satisfies ArgsDef;
const ls_ = {
  quiet: { type: "boolean", alias: "q", description: "Names only" },
  format: { type: "string", valueHint: "table|json", description: "table (default), or json: one object per line" },
  filter: { type: "string", alias: "f", valueHint: "dangling=true|false", description: "Only volumes no container uses (or only used ones)" },
  ...globalArgs,
} as const satisfies ArgsDef;
const rm_ = {
  force: { type: "boolean", alias: "f", description: "Also volumes that stopped containers use, and damaged ones" },
  ...globalArgs,
} as const satisfies ArgsDef;
const prune_ = {
  force: { type: "boolean", alias: "f", description: "Do not ask" },
  all: { type: "boolean", alias: "a", description: "Every unused volume, not only anonymous ones" },
  ...globalArgs,
} as const satisfies ArgsDef;

const SUB_HELP: Record<string, string> = {
  create: "Create a volume (NAME optional: a random one), or say the one there",
  ls: "List volumes",
  list: "List volumes",
  inspect: "Print volumes as docker's JSON documents",
  rm: "Remove volumes no container uses",
  remove: "Remove volumes no container uses",
  prune: "Remove unused anonymous volumes (-a: every unused one)",
};

const SUBS: Record<string, ArgsDef> = { create: create_, ls: ls_, list: ls_, inspect: globalArgs, rm: rm_, remove: rm_, prune: prune_ };

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const top = parseLine(args, tokens, { commandName: "volume", stopAtFirstWord: true });
  const [sub, ...rest] = top.words;
  if (top.help || sub === undefined) {
    await showCommandHelp(definition);
    return 0;
  }
  const def = SUBS[sub];
  if (!def) throw new BoxError(`unknown volume command "${sub}": use create, ls, inspect, rm or prune. See 'box volume --help'.`);
  const line = parseLine(def, rest, { commandName: `volume ${sub}`, repeatable: ["label", "filter"] });
  if (line.help) {
    await showCommandHelp(defineCommand({ meta: { name: `volume ${sub}`, description: SUB_HELP[sub] ?? "" }, args: def }));
    return 0;
  }
  const layout = storeFor("volume", line, { ...globals, ...(top.options.root !== undefined ? { root: top.options.root as string } : {}) });
  switch (sub) {
    case "create": return create(layout, line.words, line.options);
    case "ls": case "list": return ls(layout, line.options);
    case "inspect": return inspect(layout, line.words);
    case "rm": case "remove": return rm(layout, line.words, line.options.force === true);
    default: return prune(layout, line.options);
  }
}

type Options = Record<string, unknown>;

async function create(layout: Layout, words: string[], o: Options): Promise<number> {
  if (words.length > 1) throw new BoxError("box volume create takes at most one name. See 'box volume --help'.");
  if (o.driver !== undefined && o.driver !== "local") throw new BoxError(`unknown volume driver "${String(o.driver)}": box's volumes are local`);
  const labels: Record<string, string> = {};
  for (const l of (o.label as string[] | undefined) ?? []) {
    const eq = l.indexOf("=");
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  const name = words[0] ?? crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "");
  await withVolumeLock(layout, name, () => ensureVolume(layout, name, { labels }));
  out(name + "\n");
  return 0;
}

/** docker's document of a volume (volume inspect, ls --format json). */
function document(layout: Layout, r: VolumeRecord) {
  return { CreatedAt: r.created, Driver: "local", Labels: Object.keys(r.labels).length ? r.labels : null, Mountpoint: volumeData(layout, r.name), Name: r.name, Options: null, Scope: "local" };
}

function records(layout: Layout): VolumeRecord[] {
  return listVolumes(layout).flatMap((v) => {
    if ("record" in v) return [v.record];
    logger.warn(v.damaged.message);
    return [];
  });
}

async function ls(layout: Layout, o: Options): Promise<number> {
  const format = (o.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw new BoxError(`unknown format "${format}": use table or json`);
  let vols = records(layout);
  for (const f of (o.filter as string[] | undefined) ?? []) {
    const m = /^dangling=(true|false|1|0)$/.exec(f);
    if (!m) throw new BoxError(`unsupported filter "${f}": box volume ls takes dangling=true|false`);
    const dangling = m[1] === "true" || m[1] === "1";
    vols = vols.filter((v) => (volumeUsers(layout, v.name).length === 0) === dangling);
  }
  if (o.quiet === true) out(vols.map((v) => v.name + "\n").join(""));
  else if (format === "json") out(vols.map((v) => JSON.stringify(document(layout, v)) + "\n").join(""));
  else printTable([["DRIVER", "VOLUME NAME"], ...vols.map((v) => ["local", v.name])]);
  return 0;
}

async function inspect(layout: Layout, words: string[]): Promise<number> {
  if (words.length === 0) throw new BoxError("box volume inspect needs at least one volume. See 'box volume --help'.");
  const docs = [];
  let code = 0;
  for (const name of words) {
    try {
      const r = readVolume(layout, name);
      if (!r) throw new BoxError(`no such volume: ${name}`);
      docs.push(document(layout, r));
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = 125;
    }
  }
  out(JSON.stringify(docs, null, 4) + "\n");
  return code;
}

/** Why a volume cannot go: a running container uses it (always), or any container (without -f). */
function inUse(layout: Layout, name: string, force: boolean): string | undefined {
  const users = volumeUsers(layout, name);
  const running = users.filter((id) => isBusy(layout, id));
  if (running.length > 0) return `volume ${name} is in use by running container ${running.map(shortId).join(", ")}: stop it first`;
  if (users.length > 0 && !force) return `volume ${name} is in use by container ${users.map(shortId).join(", ")}: remove the container first, or use -f`;
  return undefined;
}

async function rm(layout: Layout, words: string[], force: boolean): Promise<number> {
  if (words.length === 0) throw new BoxError("box volume rm needs at least one volume. See 'box volume --help'.");
  let code = 0;
  for (const name of words) {
    try {
      await withVolumeLock(layout, name, () => {
        let exists: boolean;
        try {
          exists = readVolume(layout, name) !== undefined;
        } catch (err) {
          if (!(err instanceof DamagedVolume) || !force) throw err;
          exists = true;
        }
        if (!exists) throw new BoxError(`no such volume: ${name}`);
        const why = inUse(layout, name, force);
        if (why) throw new BoxError(why);
        removeVolume(layout, name);
      });
      out(name + "\n");
    } catch (err) {
      if (!(err instanceof BoxError)) throw err;
      logger.error(err.message);
      code = 125;
    }
  }
  return code;
}

/** Unused anonymous volumes (-a: every unused one), after asking unless --force. */
async function prune(layout: Layout, o: Options): Promise<number> {
  if (o.force !== true) {
    errOut(`WARNING! This will remove ${o.all === true ? "all" : "anonymous"} local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] `);
    const answer = (await Bun.stdin.text().catch(() => "")).split("\n")[0]!.trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") return 0;
  }
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const v of records(layout)) {
    if (!v.anonymous && o.all !== true) continue;
    await withVolumeLock(layout, v.name, () => {
      if (!readVolume(layout, v.name) || volumeUsers(layout, v.name).length > 0) return;
      reclaimed += volumeSize(layout, v.name);
      removeVolume(layout, v.name);
      deleted.push(v.name);
    });
  }
  out(`${deleted.length ? `Deleted Volumes:\n${deleted.map((n) => n + "\n").join("")}\n` : ""}Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}
