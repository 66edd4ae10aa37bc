/** box-runc features: what box-runc does, in the runtime spec's features document (1.1). */
import { CAPABILITIES } from "../../spec/capabilities";
import { VERSION } from "../../version";
import { HOOK_KINDS, NAMESPACE_TYPES } from "../config";
import { words } from "../flags";
import type { Command } from "../main";
import { PROPAGATION } from "../mounts";
import { SECCOMP_FLAGS } from "../seccomp-config";
import { OCI_VERSION } from "../state";
import { out } from "../../sys/out";

const MOUNT_OPTIONS = [
  "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "mand", "noatime", "nodev",
  "nodiratime", "noexec", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "rbind", "relatime", "remount",
  "ro", "rw", "strictatime", "suid", "sync", ...Object.keys(PROPAGATION),
].sort();

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: Object.keys(CAPABILITIES).map((c) => `CAP_${c}`),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
        operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        archs: ["SCMP_ARCH_X86_64"],
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC"],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "io.github.box.version": VERSION, "io.github.box.pid1": "the command (no init)" },
  };
}

const command: Command = {
  usage: "",
  summary: "what box-runc supports, as JSON",
  flags: [],
  async run(p) {
    words(p, "features", 0, 0, "no argument");
    out(JSON.stringify(features(), null, 2) + "\n");
    return 0;
  },
};
export default command;
