import { BoxError } from "../errors";

/** Content digests, as OCI writes them: "sha256:" and 64 lower-case hex digits (the only algorithm box takes). */
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === "string" && DIGEST.test(s);
}

/** The digest, checked; `what` names it in the sentence when it is not one. */
export function checkDigest(s: unknown, what: string): string {
  if (isDigest(s)) return s;
  if (typeof s === "string" && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s) && !s.startsWith("sha256:")) {
    throw new BoxError(`${what} uses the digest algorithm ${s.split(":")[0]}, which box does not support (only sha256)`);
  }
  throw new BoxError(`${what} has an invalid digest "${String(s).slice(0, 80)}"`);
}

export function hexOf(digest: string): string {
  return digest.slice(7);
}

// Bun's own hasher: node:crypto costs Bun several ms to load.
export function sha256(data: Uint8Array | string): string {
  return "sha256:" + new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** A running sha256. */
export function hasher(): { update(chunk: Uint8Array): void; digest(): string } {
  const h = new Bun.CryptoHasher("sha256");
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => "sha256:" + h.digest("hex"),
  };
}
