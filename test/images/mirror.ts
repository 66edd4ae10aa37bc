/**
 * A local Alpine mirror on 127.0.0.1, laid out like the real one, serving the real tarballs from
 * ../shared/fixtures/alpine (latest-stable and v3.20 -> 3.20.3, v3.19 -> 3.19.4, edge -> 3.20.3),
 * with latest-releases.yaml and the .sha256/.sha512 files generated from them. Under other prefixes
 * it misbehaves on purpose: /404, /500, /truncated, /stall, /badsum, /badyaml, /noentry.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const FIXTURES = resolve(import.meta.dir, "../../../shared/fixtures/alpine");
const RELEASES: Record<string, string> = { "latest-stable": "3.20.3", "v3.20": "3.20.3", "v3.19": "3.19.4", edge: "3.20.3" };

interface Release {
  version: string;
  file: string;
  bytes: Uint8Array;
  sha256: string;
  sha512: string;
}

const cache = new Map<string, Release>();
function release(version: string): Release {
  let r = cache.get(version);
  if (!r) {
    const file = `alpine-minirootfs-${version}-x86_64.tar.gz`;
    const bytes = readFileSync(join(FIXTURES, file));
    r = { version, file, bytes, sha256: createHash("sha256").update(bytes).digest("hex"), sha512: createHash("sha512").update(bytes).digest("hex") };
    cache.set(version, r);
  }
  return r;
}

function yaml(branch: string, r: Release, opts: { badSum?: boolean; noEntry?: boolean } = {}): string {
  const entry = (flavor: string, file: string, size: number, sha256: string, sha512: string) =>
    [
      `-`,
      `  title: "${flavor === "alpine-minirootfs" ? "Mini root filesystem" : "Standard"}"`,
      `  desc: "Minimal root filesystem."`,
      `  branch: ${branch}`,
      `  arch: x86_64`,
      `  version: ${r.version}`,
      `  flavor: ${flavor}`,
      `  file: ${file}`,
      `  iso: ${file}`,
      `  date: 2024-09-06`,
      `  time: 11:34:18`,
      `  size: ${size}`,
      `  sha256: ${sha256}`,
      `  sha512: ${sha512}`,
    ].join("\n");
  const sha = opts.badSum ? r.sha256.replace(/^./, (c) => (c === "0" ? "1" : "0")) : r.sha256;
  const docs = [entry("alpine-standard", `alpine-standard-${r.version}-x86_64.iso`, 211812352, "0".repeat(64), "0".repeat(128))];
  if (!opts.noEntry) docs.push(entry("alpine-minirootfs", r.file, r.bytes.length, sha, r.sha512));
  return "---\n" + docs.join("\n") + "\n";
}

export interface Mirror {
  url: string;
  /** How many times each path was asked for. */
  hits: Map<string, number>;
  stop(): void;
}

export function startMirror(): Mirror {
  const hits = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const m = /^\/(\w+)\/([\w.-]+)\/releases\/x86_64\/(.+)$/.exec(path);
      if (!m) return new Response("not found", { status: 404 });
      const [, mode, branch, name] = m as unknown as [string, string, string, string];
      if (mode === "404") return new Response("not found", { status: 404 });
      if (mode === "500") return new Response("oops", { status: 500 });
      const version = RELEASES[branch];
      if (!version) return new Response("not found", { status: 404 });
      const r = release(version);
      if (name === "latest-releases.yaml") {
        if (mode === "badyaml") return new Response("- title: [unclosed\n  : : :\n", { headers: { "content-type": "text/yaml" } });
        return new Response(yaml(branch, r, { badSum: mode === "badsum", noEntry: mode === "noentry" }));
      }
      if (name === `${r.file}.sha256`) return new Response(`${r.sha256}  ${r.file}\n`);
      if (name === `${r.file}.sha512`) return new Response(`${r.sha512}  ${r.file}\n`);
      if (name !== r.file) return new Response("not found", { status: 404 });
      if (mode === "truncated") return new Response(r.bytes.subarray(0, Math.floor(r.bytes.length / 2)));
      if (mode === "stall") {
        // Half the file, then nothing, forever (until the client gives up).
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(r.bytes.subarray(0, 100_000));
            },
          }),
        );
      }
      return new Response(r.bytes);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, hits, stop: () => server.stop(true) };
}
