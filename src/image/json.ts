import { BoxError } from "../errors";

/** A JSON object, or undefined for anything else (arrays and null included). */
export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Bytes that must hold one JSON object (an image config, a manifest); `what` names them in the
 * sentence when they do not. */
export function jsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new BoxError(`${what} is not valid JSON`);
  }
  const d = obj(doc);
  if (!d) throw new BoxError(`${what} is not a JSON object`);
  return d;
}
