/**
 * isatty without paying for node:tty at start-up: Bun's bundler hoists every `import ... from
 * "node:..."` of every module, lazy or not, to the top of the one bundle, so a static import of
 * node:tty (which pulls in Node's streams) cost every command, `box --version` included, a few
 * milliseconds. Required here on first use instead.
 */
export function isatty(fd: number): boolean {
  const tty = require("node:tty") as typeof import("node:tty");
  return tty.isatty(fd);
}
