/**
 * The seccomp filter of a container with docker's default capabilities, compiled once by the build
 * (scripts/build.ts) and carried as text: most containers use it, and compiling it costs a start a
 * millisecond or more. Any other capability set is compiled when asked for. A unit test checks
 * that the carried filter is exactly what the compiler makes.
 */
import precompiled from "../../../build/seccomp-default.txt" with { type: "text" };
import { DEFAULT_CAPABILITIES } from "../capabilities";
import { compileFilter, encodeFilter } from "./filter";

function isDefaultSet(caps: readonly string[]): boolean {
  return caps.length === DEFAULT_CAPABILITIES.length && DEFAULT_CAPABILITIES.every((c) => caps.includes(c));
}

/** The filter for a container keeping these capabilities, as the plan carries it (hex). */
export function filterFor(caps: readonly string[]): string {
  if (isDefaultSet(caps) && /^([0-9a-f]{16})+$/.test(precompiled.trim())) return precompiled.trim();
  return encodeFilter(compileFilter(caps));
}

