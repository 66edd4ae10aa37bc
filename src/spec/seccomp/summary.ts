/**
 * What `box run --explain` says of a seccomp filter as the plan carries it (struct sock_filter[],
 * little-endian, as hex: ./filter.ts): how long it is, and what its last instruction does with a
 * call nothing else matched. A file of its own, so the start path loads no compiler for it.
 */
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

export function summarizeFilter(hex: string): { instructions: number; default: string } {
  const buf = Buffer.from(hex, "hex");
  const k = buf.length >= 8 ? buf.readUInt32LE(buf.length - 4) : RET_ALLOW;
  const action = k === RET_ALLOW ? "allow" : (k & 0xffff0000) >>> 0 === RET_ERRNO ? `errno(${k & 0xffff})` : `0x${k.toString(16)}`;
  return { instructions: Math.floor(buf.length / 8), default: action };
}
