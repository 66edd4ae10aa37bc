/**
 * A layer unpacked as root of the user's namespace (a rootless store): the helper makes the
 * namespace with the mapping every container of the user's has (src/userns/ids.ts) and runs box's
 * unpacker in it (box __unpack, src/commands/unpack-worker.ts), which reads the tar on its stdin.
 * The owners it sets are the container's, seen from the host as the user's subordinate ids; files
 * of the container's root are the user's own. Here, in the store's process, the bytes are hashed
 * (the caller's tap) and fed to it; what it unpacked comes back as one JSON line.
 *
 * A caller's onEntry (box import refusing a docker-save archive) sees every entry of a copy of the
 * stream, read here beside the unpacker; when it refuses one, the unpacker is stopped.
 */
import { BoxError } from "../../errors";
import type { IdMapping } from "../../userns/ids";
import { selfArgv, startInNamespace } from "../../userns/tool";
import type { Bytes } from "../archive";
import type { TarEntry } from "../tar";
import type { UnpackStats } from "../unpack";

function streamOf(source: Bytes): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const { value, done } = await it.next();
      if (done) ctrl.close();
      else ctrl.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

async function* iterate(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function checkStats(text: string): UnpackStats {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const s = v as Record<string, unknown> | undefined;
  const n = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!s || !n(s.entries) || !n(s.bytes) || !n(s.newest)) throw new BoxError("the unpacker in your user namespace ended without saying what it unpacked");
  return { entries: s.entries as number, bytes: s.bytes as number, newest: s.newest as number, devicesSkipped: n(s.devicesSkipped) ? (s.devicesSkipped as number) : 0 };
}

export async function unpackInNamespace(m: IdMapping, tar: Bytes, dir: string, onEntry?: (entry: TarEntry, path: Buffer) => void): Promise<UnpackStats> {
  let input = streamOf(tar);
  let watching: Promise<void> | undefined;
  let refused: unknown;
  const argv = [...selfArgv(), "__unpack", ...(m.single ? ["--squash"] : []), dir];
  const env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", ...(process.env.BOX_DEBUG ? [`BOX_DEBUG=${process.env.BOX_DEBUG}`] : [])];
  if (onEntry) {
    const [a, b] = input.tee();
    input = a;
    watching = watch(b, onEntry).catch((err) => void (refused = err));
  }
  const proc = startInNamespace(m, { argv, env }, { stdin: input, stdout: "pipe", stderr: "pipe" });
  if (watching) void watching.then(() => refused !== undefined && proc.kill("SIGKILL"));
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited, watching]);
  if (refused !== undefined) throw refused;
  if (code !== 0) {
    // Its sentence (box's voice, "box: ..."), as ours.
    const said = err.trim().split("\n").at(-1)?.replace(/^box: /, "");
    throw new BoxError(said || `the layer could not be unpacked in your user namespace (status ${code})`);
  }
  return checkStats(out);
}

/** The caller's look at each entry, on a copy of the stream (bodies skipped). */
async function watch(stream: ReadableStream<Uint8Array>, onEntry: (entry: TarEntry, path: Buffer) => void): Promise<void> {
  const [{ TarReader }, { memberBytes }] = await Promise.all([import("../tar"), import("../unpack")]);
  const tar = new TarReader(iterate(stream));
  for (let e = await tar.next(); e; e = await tar.next()) onEntry(e, memberBytes(e.name));
  await tar.drain();
}
