/**
 * The part of Go's text/template that docker's --format lines use: `{{.Field}}`, `{{.A.B}}`,
 * `{{json .}}`, `{{index .Config.Labels "k"}}`, pipes (`{{.Names | upper}}`), `{{range ...}}`,
 * `{{if ...}}...{{else}}...{{end}}`, `{{- ... -}}`, and docker's own functions (json, join, split,
 * lower, upper, title, len, index, printf, println, truncate, pad). Values print as Go prints them:
 * `<no value>` for a missing map entry, `map[k:v]`, `[a b]`.
 */
import { BoxError } from "../errors";

type Node =
  | { kind: "text"; text: string }
  | { kind: "out"; pipe: Cmd[] }
  | { kind: "range"; pipe: Cmd[]; body: Node[]; orElse: Node[] }
  | { kind: "if"; pipe: Cmd[]; body: Node[]; orElse: Node[] };

type Arg = { kind: "field"; path: string[] } | { kind: "string"; value: string } | { kind: "number"; value: number } | { kind: "fn"; name: string };
type Cmd = Arg[];

export class TemplateError extends BoxError {}

function fail(text: string, why: string): never {
  throw new TemplateError(`invalid --format "${text.slice(0, 80)}": ${why}`);
}

const FUNCS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep ?? "")) : goString(list)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => goString(s).toLowerCase(),
  upper: (s) => goString(s).toUpperCase(),
  title: (s) => goString(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  len: (v) => (Array.isArray(v) || typeof v === "string" ? v.length : v && typeof v === "object" ? Object.keys(v).length : 0),
  index: (v, ...keys) => keys.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[String(k)] : undefined), v),
  printf: (fmt, ...args) => sprintf(String(fmt), args),
  println: (...args) => args.map(goString).join(" ") + "\n",
  print: (...args) => args.map(goString).join(""),
  truncate: (s, n) => goString(s).slice(0, Number(n)),
  pad: (s, left, right) => " ".repeat(Number(left)) + goString(s) + " ".repeat(Number(right)),
};

function sprintf(fmt: string, args: unknown[]): string {
  let i = 0;
  return fmt.replace(/%([-0-9]*)([svdq%])/g, (_m, width: string, verb: string) => {
    if (verb === "%") return "%";
    const v = args[i++];
    const s = verb === "q" ? JSON.stringify(goString(v)) : goString(v);
    const w = Number(width.replace("-", "")) || 0;
    return width.startsWith("-") ? s.padEnd(w) : s.padStart(w);
  });
}

/** A value as Go's fmt prints it with %v. */
export function goString(v: unknown): string {
  if (v === undefined || v === null) return "<no value>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(" ")}]`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

/** Splits a pipeline's text into commands of arguments. */
function parsePipe(src: string, whole: string): Cmd[] {
  const cmds: Cmd[] = [[]];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "|") {
      cmds.push([]);
      i++;
    } else if (c === '"' || c === "`") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail(whole, "a string is not closed");
      const raw = src.slice(i, end + 1);
      cmds.at(-1)!.push({ kind: "string", value: c === '"' ? (JSON.parse(raw) as string) : raw.slice(1, -1) });
      i = end + 1;
    } else {
      const m = /^[^\s|]+/.exec(src.slice(i))![0];
      i += m.length;
      if (m === ".") cmds.at(-1)!.push({ kind: "field", path: [] });
      else if (m.startsWith(".")) cmds.at(-1)!.push({ kind: "field", path: m.slice(1).split(".") });
      else if (/^-?\d+(\.\d+)?$/.test(m)) cmds.at(-1)!.push({ kind: "number", value: Number(m) });
      else if (m in FUNCS) cmds.at(-1)!.push({ kind: "fn", name: m });
      else fail(whole, `function "${m}" not defined`);
    }
  }
  if (cmds.some((c) => c.length === 0)) fail(whole, "an empty command in a pipeline");
  return cmds;
}

/** Parses a template into nodes. */
export function parseTemplate(text: string): Node[] {
  const stack: Array<{ nodes: Node[]; block?: Extract<Node, { kind: "range" | "if" }>; inElse?: boolean }> = [{ nodes: [] }];
  const top = () => stack.at(-1)!;
  const emit = (n: Node) => (top().inElse ? top().block!.orElse : top().nodes).push(n);
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf("{{", at);
    if (open < 0) {
      emit({ kind: "text", text: text.slice(at) });
      break;
    }
    let before = text.slice(at, open);
    const close = text.indexOf("}}", open);
    if (close < 0) fail(text, "an action is not closed with }}");
    let inner = text.slice(open + 2, close);
    if (inner.startsWith("-")) {
      before = before.trimEnd();
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith("-")) {
      inner = inner.slice(0, -1);
      while (next < text.length && /\s/.test(text[next]!)) next++;
    }
    if (before) emit({ kind: "text", text: before });
    at = next;
    const action = inner.trim();
    const word = /^(\w+)\b/.exec(action)?.[1];
    if (word === "range" || word === "if") {
      const block = { kind: word, pipe: parsePipe(action.slice(word.length), text), body: [], orElse: [] } as Extract<Node, { kind: "range" | "if" }>;
      emit(block);
      stack.push({ nodes: block.body, block });
    } else if (word === "else") {
      if (!top().block || top().inElse) fail(text, "{{else}} outside {{range}} or {{if}}");
      top().inElse = true;
    } else if (word === "end") {
      if (!top().block) fail(text, "{{end}} without {{range}} or {{if}}");
      stack.pop();
    } else {
      emit({ kind: "out", pipe: parsePipe(action, text) });
    }
  }
  if (stack.length > 1) fail(text, "a {{range}} or {{if}} has no {{end}}");
  return stack[0]!.nodes;
}

function field(dot: unknown, path: string[], whole: string): unknown {
  let v = dot;
  for (const key of path) {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) fail(whole, `cannot take the field ${key} of ${goString(v)}`);
    const o = v as Record<string, unknown>;
    if (!(key in o)) {
      // A map's missing key prints <no value>; a field the document never has is an error, as in Go.
      if ((o as { __map?: boolean }).__map || Object.getPrototypeOf(o) === null) return undefined;
      fail(whole, `the field .${path.join(".")} does not exist`);
    }
    v = o[key];
  }
  return v;
}

function runPipe(pipe: Cmd[], dot: unknown, whole: string): unknown {
  let value: unknown;
  pipe.forEach((cmd, i) => {
    const [head, ...rest] = cmd;
    const evalArg = (a: Arg): unknown => (a.kind === "field" ? field(dot, a.path, whole) : a.kind === "fn" ? fail(whole, `${a.name} is a function, not a value`) : a.value);
    if (head!.kind === "fn") {
      const args = rest.map(evalArg);
      if (i > 0) args.push(value);
      value = FUNCS[head!.name]!(...args);
    } else {
      if (rest.length > 0 || i > 0) fail(whole, "only a function can take arguments");
      value = evalArg(head!);
    }
  });
  return value;
}

function render(nodes: Node[], dot: unknown, whole: string): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "out") out += goString(runPipe(n.pipe, dot, whole));
    else if (n.kind === "if") out += render(truthy(runPipe(n.pipe, dot, whole)) ? n.body : n.orElse, dot, whole);
    else {
      const v = runPipe(n.pipe, dot, whole);
      const items = Array.isArray(v) ? v : v && typeof v === "object" ? Object.values(v) : [];
      out += items.length > 0 ? items.map((item) => render(n.body, item, whole)).join("") : render(n.orElse, dot, whole);
    }
  }
  return out;
}

/** A map whose missing keys print as <no value> (labels, options), not as an error. */
export function goMap<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

export interface Template {
  render(dot: unknown): string;
}

export function compileTemplate(text: string): Template {
  const nodes = parseTemplate(text);
  return { render: (dot) => render(nodes, dot, text) };
}
