import { BoxError } from "../errors";

/** A container id: 64 hex digits, like docker's; the first 12 are its short form and default hostname. */
export function newId(): string {
  return randomHex(32);
}

/** n random bytes as hex, from the Web Crypto global (node:crypto costs milliseconds to load). */
export function randomHex(n: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("hex");
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Docker's rule for container names. */
export function checkName(name: string): string {
  if (!NAME.test(name)) {
    throw new BoxError(
      `invalid container name "${name}": use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
  return name;
}
