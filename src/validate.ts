/**
 * Checks for what box reads back from disk. A state file may be damaged (a full disk, a crash in an
 * older version, a person's editor): each check names what is wrong, and the reader turns that into
 * one sentence naming the file, never a TypeError deep inside a command.
 */
export class Invalid extends Error {}

export type Check<T> = (value: unknown, at: string) => T;

function fail(at: string, what: string): never {
  throw new Invalid(`${at} is ${what}`);
}

export const str: Check<string> = (v, at) => (typeof v === "string" ? v : fail(at, "not a string"));
export const bool: Check<boolean> = (v, at) => (typeof v === "boolean" ? v : fail(at, "not true or false"));
export const num: Check<number> = (v, at) => (typeof v === "number" && Number.isFinite(v) ? v : fail(at, "not a number"));
export const int: Check<number> = (v, at) => (Number.isSafeInteger(v) ? (v as number) : fail(at, "not a whole number"));

export function pattern(re: RegExp, what: string): Check<string> {
  return (v, at) => (typeof v === "string" && re.test(v) ? v : fail(at, `not ${what}`));
}

export function arr<T>(of: Check<T>, max = 65536): Check<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) fail(at, "not a list");
    if (v.length > max) fail(at, `a list of more than ${max}`);
    const out = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = of(v[i], at + "[" + i + "]");
    return out;
  };
}

export function opt<T>(check: Check<T>): Check<T | undefined> {
  return (v, at) => (v === undefined || v === null ? undefined : check(v, at));
}

export function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v, at) => (values.includes(v as T) ? (v as T) : fail(at, `not one of ${values.join(", ")}`));
}

/** An object with at least these fields (others are kept as they are, for newer versions). */
export function obj<T extends object>(fields: { [K in keyof T]: Check<T[K]> }): Check<T> {
  // Made once: `box ps` checks a thousand records with the same checks.
  const checks = Object.entries(fields) as Array<[string, Check<unknown>]>;
  return (v, at) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(at, "not an object");
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = { ...src };
    for (const [k, check] of checks) {
      const value = check(src[k], at ? at + "." + k : k);
      if (value === undefined) delete out[k];
      else out[k] = value;
    }
    return out as T;
  };
}

/** An object used as a map: every value checked (labels, sysctls). */
export function dict<T>(of: Check<T>, max = 4096): Check<Record<string, T>> {
  return (v, at) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(at, "not an object");
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > max) fail(at, `a map of more than ${max}`);
    return Object.fromEntries(entries.map(([k, x]) => [k, of(x, `${at}.${k}`)]));
  };
}

/** Any JSON object, unchecked inside (what box only shows, never acts on). */
export const anyObject: Check<Record<string, unknown>> = (v, at) =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(at, "not an object");

/** Parses JSON text and checks it; the error says what is wrong in words. */
export function parseJson<T>(text: string, check: Check<T>): T {
  if (text.trim() === "") throw new Invalid("it is empty");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Invalid("it is not valid JSON (truncated?)");
  }
  return check(value, "");
}
