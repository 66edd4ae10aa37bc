/**
 * box completion bash|zsh|fish: a completion script generated from the command table (every
 * command's flags, which of them take a value, the values some of them take, subcommands of the
 * groups), completing container and image names by asking box (`box completion names KIND`).
 */
import { defineCommand, type ArgDef, type ArgsDef } from "citty";
import { globalArgs, type Globals } from "../cli/shared";
import { statusOf } from "../container/state";
import { BoxError } from "../errors";
import { listContainers } from "../store/containers";
import { layoutFor } from "../store/layout";
import { parseOrHelp } from "./common";
import { listImages } from "./image-access";
import type { CommandTable } from "./index";
import { hidden, summaries } from "./summaries";
import { out } from "../sys/out";

const args = {
  shell: { type: "positional", required: true, valueHint: "bash|zsh|fish", description: "The shell to print a script for (names KIND: what the script asks box for)" },
  ...globalArgs,
} as const satisfies ArgsDef;

export const definition = defineCommand({ meta: { name: "completion", description: "Print a shell completion script (bash, zsh, fish)" }, args });

/** Commands whose container argument is a running one. */
const RUNNING = new Set(["exec", "attach", "stop", "kill", "top", "stats", "port", "pause"]);
/** Values of flags that take one of a few words. */
const FLAG_VALUES: Record<string, string[]> = {
  network: ["bridge", "none", "host"],
  restart: ["no", "on-failure", "always", "unless-stopped"],
  pid: ["host"],
  ipc: ["host"],
  uts: ["host"],
  type: ["container", "image"],
  signal: ["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"],
  "stop-signal": ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"],
  format: ["table", "json"],
};
const FILE_FLAGS = new Set(["env-file", "cidfile", "rootfs", "device", "root"]);

interface Spec {
  name: string;
  description: string;
  flags: Array<{ long: string; short?: string; value: boolean; description: string }>;
  /** What the words complete to: container names (all or running), image names, or nothing. */
  words: "containers" | "running" | "images" | "none";
  /** Only the first word (exec CONTAINER CMD...), or every one (rm CONTAINER...). */
  many: boolean;
  subs?: Record<string, string>;
}

async function specOf(commands: CommandTable, name: string): Promise<Spec> {
  const mod = await commands[name]!();
  const defs = (mod.definition.args ?? {}) as Record<string, ArgDef>;
  const flags: Spec["flags"] = [];
  let words: Spec["words"] = "none", many = false, first = true;
  for (const [key, a] of Object.entries(defs)) {
    if (a.type === "positional") {
      const hint = String(a.valueHint ?? "");
      if (first) {
        words = /CONTAINER/.test(hint) ? (RUNNING.has(name) ? "running" : "containers") : /IMAGE|NAME\[:TAG\]/.test(hint) ? "images" : "none";
        many = hint.endsWith("...");
      }
      first = false;
      continue;
    }
    const alias = "alias" in a && a.alias ? ([] as string[]).concat(a.alias)[0] : undefined;
    flags.push({ long: key, short: alias, value: a.type === "string" || a.type === "enum", description: String(a.description ?? "") });
  }
  const subs = mod.aliases ? Object.fromEntries(Object.entries(mod.aliases).map(([s, a]) => [s, a.command])) : undefined;
  return { name, description: summaries[name] ?? "", flags, words, many, ...(subs ? { subs } : {}) };
}

export async function commandSpecs(commands: CommandTable): Promise<Spec[]> {
  return Promise.all(Object.keys(commands).filter((n) => !hidden.has(n)).map((n) => specOf(commands, n)));
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function bash(specs: Spec[]): string {
  const arms = specs.map((s) => {
    const flags = s.flags.flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]).join(" ");
    const vflags = s.flags.filter((f) => f.value).flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]).join(" ");
    const subs = s.subs ? Object.entries(s.subs).map(([a, t]) => `${a}:${t}`).join(" ") : "";
    return `    ${s.name}) flags=${q(flags + " --help")}; vflags=${q(vflags)}; kind=${s.words}; many=${s.many ? 1 : 0}; subs=${q(subs)} ;;`;
  });
  const values = Object.entries(FLAG_VALUES).map(([f, v]) => `    --${f}) COMPREPLY=($(compgen -W ${q(v.join(" "))} -- "$cur")); return ;;`);
  const files = [...FILE_FLAGS].map((f) => `--${f}`).join("|");
  return `# box completion for bash: source <(box completion bash)
# Generated from box's command table; names come from \`box completion names KIND\`.
_box_spec() {
  flags=""; vflags=""; kind=none; many=0; subs=""
  case "$1" in
${arms.join("\n")}
  esac
}

_box_names() {
  command "\${_box_cmd:-box}" \${_box_root:+--root "$_box_root"} completion names "$1" 2>/dev/null
}

_box() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local _box_cmd="\${COMP_WORDS[0]}" _box_root="" cmd="" i=1 w
  local flags vflags kind many subs
  COMPREPLY=()
  # box's own options, then the command.
  while [ $i -lt $COMP_CWORD ]; do
    w="\${COMP_WORDS[i]}"
    if [ "$w" = --root ]; then _box_root="\${COMP_WORDS[i+1]}"; i=$((i + 2)); continue; fi
    case "$w" in --root=*) _box_root="\${w#--root=}" ;; -*) ;; *) cmd="$w"; i=$((i + 1)); break ;; esac
    i=$((i + 1))
  done
  if [ -z "$cmd" ]; then
    if [ "$prev" = --root ]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi
    case "$cur" in
      -*) COMPREPLY=($(compgen -W "--root --version --help" -- "$cur")) ;;
      *) COMPREPLY=($(compgen -W ${q(specs.map((s) => s.name).join(" "))} -- "$cur")) ;;
    esac
    return
  fi
  _box_spec "$cmd"
  # A group: its subcommand first, then that command's own words.
  if [ -n "$subs" ]; then
    local sub=""
    while [ $i -lt $COMP_CWORD ]; do
      case "\${COMP_WORDS[i]}" in -*) ;; *) sub="\${COMP_WORDS[i]}"; i=$((i + 1)); break ;; esac
      i=$((i + 1))
    done
    if [ -z "$sub" ]; then
      local names="" pair
      for pair in $subs; do names="$names \${pair%%:*}"; done
      COMPREPLY=($(compgen -W "$names --help" -- "$cur"))
      return
    fi
    local target=""
    for pair in $subs; do [ "\${pair%%:*}" = "$sub" ] && target="\${pair#*:}"; done
    [ -z "$target" ] && return
    cmd="$target"
    _box_spec "$cmd"
  fi
  case " $vflags " in
    *" $prev "*)
      case "$prev" in
${values.join("\n")}
        ${files}) COMPREPLY=($(compgen -f -- "$cur")) ;;
      esac
      return ;;
  esac
  case "$cur" in -*) COMPREPLY=($(compgen -W "$flags" -- "$cur")); return ;; esac
  # Words before this one that are not options (nor their values): past the first, only many continue.
  local seen=0 skip=0
  while [ $i -lt $COMP_CWORD ]; do
    w="\${COMP_WORDS[i]}"
    if [ $skip = 1 ]; then skip=0
    elif [ "\${w#-}" != "$w" ]; then case " $vflags " in *" $w "*) skip=1 ;; esac
    else seen=$((seen + 1))
    fi
    i=$((i + 1))
  done
  if [ $seen -gt 0 ] && [ $many = 0 ]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  case "$kind" in
    containers|running|images) COMPREPLY=($(compgen -W "$(_box_names $kind)" -- "$cur")) ;;
  esac
}
complete -F _box box
`;
}

function zsh(specs: Spec[]): string {
  return `#compdef box
# box completion for zsh: source <(box completion zsh). The bash completion, through zsh's bashcompinit.
whence compdef >/dev/null || { autoload -U compinit && compinit -u; }
autoload -U +X bashcompinit && bashcompinit
${bash(specs)}`;
}

function fish(specs: Spec[]): string {
  const names = specs.map((s) => s.name).join(" ");
  const out = [
    "# box completion for fish: box completion fish | source",
    "complete -c box -f",
    "complete -c box -n '__fish_use_subcommand' -l root -r -F -d 'Where box keeps its state'",
    ...specs.map((s) => `complete -c box -n '__fish_use_subcommand' -a ${s.name} -d ${q(s.description)}`),
  ];
  for (const s of specs) {
    const when = `__fish_seen_subcommand_from ${s.name}`;
    for (const f of s.flags) {
      const values = FLAG_VALUES[f.long] ? ` -a ${q(FLAG_VALUES[f.long]!.join(" "))}` : FILE_FLAGS.has(f.long) ? " -F" : "";
      out.push(`complete -c box -n ${q(when)} -l ${f.long}${f.short ? ` -s ${f.short}` : ""}${f.value ? " -r" : ""}${values} -d ${q(f.description)}`);
    }
    if (s.words !== "none") out.push(`complete -c box -n ${q(when)} -a ${q(`(box completion names ${s.words})`)}`);
    for (const [sub, target] of Object.entries(s.subs ?? {})) out.push(`complete -c box -n ${q(`${when}; and not __fish_seen_subcommand_from ${Object.keys(s.subs!).join(" ")}`)} -a ${sub} -d ${q(`box ${target}`)}`);
  }
  return out.join("\n") + `\n# commands: ${names}\n`;
}

/** The names the scripts complete; nothing (not an error) when the store cannot be read. */
function names(kind: string, root: string | undefined): string[] {
  const layout = layoutFor(root);
  try {
    if (kind === "images") return listImages(layout).flatMap((i) => i.names);
    const containers = listContainers(layout).flatMap((l) => ("record" in l ? [l.record] : []));
    return containers.filter((c) => kind !== "running" || statusOf(layout, c) === "running").flatMap((c) => (c.name ? [c.name] : [c.id.slice(0, 12)]));
  } catch {
    return [];
  }
}

export async function main(tokens: string[], globals: Globals): Promise<number> {
  const line = await parseOrHelp(definition, args, tokens, { commandName: "completion" });
  if (!line) return 0;
  const [shell, kind, ...rest] = line.words;
  const root = (line.options.root as string | undefined) ?? globals.root;
  if (shell === "names" && kind !== undefined && rest.length === 0 && ["containers", "running", "images"].includes(kind)) {
    const list = names(kind, root);
    out(list.map((n) => n + "\n").join(""));
    return 0;
  }
  if (line.words.length !== 1 || !["bash", "zsh", "fish"].includes(shell ?? "")) throw new BoxError("box completion takes one shell: bash, zsh or fish. See 'box completion --help'.");
  if (!globals.commands) throw new BoxError("box completion needs box's command table");
  const specs = await commandSpecs(globals.commands);
  out(shell === "bash" ? bash(specs) : shell === "zsh" ? zsh(specs) : fish(specs));
  return 0;
}
