/**
 * box as an OCI runtime against crun and runc, in one hyperfine run, on one bundle running
 * /bin/true: `create`, `start` and `delete --force` in a row (as podman and conmon call a runtime),
 * and `run` in the foreground, printed as a table with the ratios. Part of npm run bench, or alone:
 * `npm run bench -- oci`. Inside a private mount namespace without the empty cgroup2 mount, which
 * crun refuses (environment.md).
 */
import { $ } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface OciRow {
  what: string;
  tool: string;
  median: number;
}

/** The table's lines; box is dist/box, whose link dist/box-runc answers runc's command line. */
export async function benchOci(work: string, box: string, rootfs: string, runs = 100): Promise<string[]> {
  const bundle = join(work, "oci-bundle");
  mkdirSync(bundle, { recursive: true });
  await $`runc spec --bundle ${bundle}`.quiet();
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.root = { path: rootfs, readonly: true };
  config.process.terminal = false;
  config.process.args = ["/bin/true"];
  config.process.capabilities.ambient = [];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config, null, 2));
  const runtimes: Array<[string, string]> = [["box", join(dirname(box), "box-runc")], ["crun", "crun"], ["runc", "runc"]];
  const commands: string[] = [];
  for (const [name, bin] of runtimes) {
    const r = `${bin} --root ${join(work, `oci-${name}`)}`;
    commands.push("-n", `create+start+delete ${name}`, `sh -c '${r} create --bundle ${bundle} c-${name} && ${r} start c-${name} && ${r} delete --force c-${name}'`);
  }
  for (const [name, bin] of runtimes) commands.push("-n", `run ${name}`, `${bin} --root ${join(work, `oci-${name}`)} run --bundle ${bundle} r-${name}`);
  const json = join(work, "oci-hyperfine.json");
  const hf = ["hyperfine", "-N", "--warmup", "10", "--runs", String(runs), "--export-json", json, ...commands];
  const script = `umount -l /sys/fs/cgroup/unified 2>/dev/null; exec ${hf.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")}`;
  await $`unshare -m sh -c ${script}`;
  const results = JSON.parse(readFileSync(json, "utf8")).results as Array<{ command: string; median: number }>;
  return ociTable(results.map((r) => {
    const [what, tool] = [r.command.slice(0, r.command.lastIndexOf(" ")), r.command.slice(r.command.lastIndexOf(" ") + 1)];
    return { what, tool, median: r.median };
  }));
}

function ociTable(rows: OciRow[]): string[] {
  const lines = ["| as an OCI runtime | box | crun | runc | box / crun | box / runc |", "| --- | --- | --- | --- | --- | --- |"];
  for (const what of [...new Set(rows.map((r) => r.what))]) {
    const m = (tool: string) => rows.find((r) => r.what === what && r.tool === tool)!.median;
    lines.push(`| ${what} | ${(m("box") * 1000).toFixed(1)} ms | ${(m("crun") * 1000).toFixed(1)} ms | ${(m("runc") * 1000).toFixed(1)} ms | ${(m("box") / m("crun")).toFixed(2)} | ${(m("box") / m("runc")).toFixed(2)} |`);
  }
  return lines;
}
