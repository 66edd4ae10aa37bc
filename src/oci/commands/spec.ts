/**
 * box-runc spec: a starter config.json (in --bundle, or the current directory), refused when one
 * is there already: sh on a terminal in ./rootfs, read-only, with runc's default mounts, masks and
 * namespaces, three capabilities, no_new_privs, and every device denied but the defaults.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BoxError } from "../../errors";
import { MASKED_PATHS, READONLY_PATHS } from "../../spec/build";
import { str, words } from "../flags";
import type { Command } from "../main";
import { OCI_VERSION } from "../state";

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function starterSpec(): Record<string, unknown> {
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "box",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: ["pid", "network", "ipc", "uts", "mount", "cgroup"].map((type) => ({ type })),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

const command: Command = {
  usage: "[command options]",
  summary: "write a starter config.json",
  flags: [
    { name: "bundle", short: "b", kind: "string", value: "DIR", help: "where to write it (default: the current directory)" },
    { name: "rootless", kind: "bool", help: "refused: box-runc runs as root" },
  ],
  async run(p) {
    words(p, "spec", 0, 0, "no argument");
    if (p.flags.rootless) throw new BoxError("spec --rootless is not supported: box-runc runs as root", 1);
    const file = join(str(p, "bundle") ?? ".", "config.json");
    if (existsSync(file)) throw new BoxError(`File ${file} exists. Remove it first`, 1);
    try {
      writeFileSync(file, JSON.stringify(starterSpec(), null, "\t") + "\n", { flag: "wx", mode: 0o644 });
    } catch (err) {
      throw new BoxError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
    }
    return 0;
  },
};
export default command;
