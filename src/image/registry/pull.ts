import { BoxError } from "../../errors";
import type { Layout } from "../../store/layout";
import { fullName, type Reference } from "../reference";

export interface RegistryOptions {
  timeoutMs: number;
}

export function registryOptions(o: { timeout?: string }): RegistryOptions {
  return { timeoutMs: Number(o.timeout ?? 30) * 1000 };
}

export async function pullImage(_layout: Layout, ref: Reference, _opts: RegistryOptions): Promise<string> {
  throw new BoxError(`image ${fullName(ref)} is not in the store`);
}
