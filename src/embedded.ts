/**
 * The files compiled into dist/box: the helper (built by `zig build`), the default image (fetched
 * and checked by scripts/build.ts), and the list of its commands (made from it by the build). In a compiled executable these paths point into Bun's
 * embedded filesystem (/$bunfs/...): readable, never executable, so the helper is copied into a
 * sealed memfd before it runs (src/helper.ts).
 */
import helperPath from "../zig-out/bin/box-helper" with { type: "file" };
import alpinePath from "../build/alpine-minirootfs-3.20.3-x86_64.tar.gz" with { type: "file" };
import alpineCommandsPath from "../build/alpine-commands.txt" with { type: "file" };

export const embedded = { helperPath, alpinePath, alpineCommandsPath };
