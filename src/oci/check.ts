/**
 * Strict checks for config.json (the OCI runtime spec's): every value has the type the spec gives
 * it, and a field box does not know, inside a section it acts on, is refused by name, never passed
 * over (a field a newer spec added may be one that confines). The messages name the field as a
 * path: "config.json: linux.resources.rdma is not supported by box".
 */
import { BoxError } from "../errors";

export type Check<T> = (v: unknown, at: string) => T;

export function invalid(at: string, what: string): never {
  throw new BoxError(`config.json: ${at} ${what}`, 1);
}

export function unsupported(at: string, why = ""): never {
  throw new BoxError(`config.json: ${at} is not supported by box${why ? `: ${why}` : ""}`, 1);
}

export const str: Check<string> = (v, at) => (typeof v === "string" ? v : invalid(at, "is not a string"));
export const bool: Check<boolean> = (v, at) => (typeof v === "boolean" ? v : invalid(at, "is not true or false"));

/** A whole number within [min, max] (JSON numbers: 64-bit values beyond 2^53 are refused). */
export function int(min = -(2 ** 53), max = 2 ** 53): Check<number> {
  return (v, at) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) invalid(at, "is not a whole number");
    if (v < min || v > max) invalid(at, `is out of range (${min} to ${max})`);
    return v;
  };
}

export const uint32 = int(0, 0xffffffff);
export const int64 = int();

export function list<T>(of: Check<T>, max = 65536): Check<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) invalid(at, "is not a list");
    if (v.length > max) invalid(at, `holds more than ${max} entries`);
    return v.map((x, i) => of(x, `${at}[${i}]`));
  };
}

export function strings(max = 65536): Check<string[]> {
  return list(str, max);
}

export function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v, at) => (values.includes(v as T) ? (v as T) : invalid(at, `is ${JSON.stringify(v)}, not one of ${values.join(", ")}`));
}

export function map<T>(of: Check<T>): Check<Record<string, T>> {
  return (v, at) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) invalid(at, "is not an object");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, of(x, `${at}.${k}`)]));
  };
}

type Fields<T> = { [K in keyof T]-?: Check<T[K]> };

/**
 * An object with exactly these fields (each optional unless its check refuses undefined); any
 * other key is refused by name. `refused` lists fields of the spec that box does not do: present
 * and not empty, they are refused with the reason given.
 */
export function strict<T extends object>(fields: Fields<T>, refused: Record<string, string> = {}): Check<T> {
  return (v, at) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) invalid(at || "the document", "is not an object");
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(src)) {
      const name = at ? `${at}.${k}` : k;
      if (k in refused) {
        if (!empty(x)) unsupported(name, refused[k]);
        continue;
      }
      const check = (fields as Record<string, Check<unknown>>)[k];
      if (!check) unsupported(name, "box does not know this field");
      if (x === null || x === undefined) continue;
      out[k] = check(x, name);
    }
    return out as T;
  };
}

function empty(x: unknown): boolean {
  if (x === undefined || x === null || x === "" || x === false) return true;
  if (Array.isArray(x)) return x.length === 0;
  if (typeof x === "object") return Object.keys(x as object).length === 0;
  return false;
}

/** A value that may be absent. */
export function opt<T>(check: Check<T>): Check<T | undefined> {
  return (v, at) => (v === undefined || v === null ? undefined : check(v, at));
}

/** An absolute path without NUL bytes. */
export const absPath: Check<string> = (v, at) => {
  const s = str(v, at);
  if (!s.startsWith("/")) invalid(at, `is "${s}", not an absolute path`);
  if (s.includes("\0")) invalid(at, "holds a NUL byte");
  return s;
};

/** The fields a check requires: absent ones are named. */
export function need<T extends object>(value: T, keys: Array<keyof T>, at: string): T {
  for (const k of keys) if (value[k] === undefined) invalid(at ? `${at}.${String(k)}` : String(k), "is missing");
  return value;
}
