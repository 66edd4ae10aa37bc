/**
 * The runtime spec's own validation suite (opencontainers/runtime-tools, validation/) against
 * box-runc: a chosen subset, one test per file, each of which must pass (scripts/oci-validation.ts
 * builds the suite once into build/ and says what "pass" means). `bun scripts/oci-validation.ts`
 * runs all 58 files, and `--runtime runc` the same against runc, for the comparison in the README.
 *
 * The suite's source is not downloaded: without it (see the script) these tests say so and pass.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { ensureSuite, runTest } from "../../scripts/oci-validation";
import { BOXRUNC } from "./harness";

const SUBSET = [
  "create", "default", "state", "kill", "killsig", "delete_resources", "hooks_stdin", "hostname", "mounts", "process",
  "process_user", "process_oom_score_adj", "root_readonly_true", "linux_devices", "linux_masked_paths", "linux_readonly_paths",
  "linux_rootfs_propagation", "linux_seccomp", "linux_sysctl", "linux_ns_path_type", "linux_cgroups_pids", "linux_cgroups_cpus",
  "linux_cgroups_relative_pids", "linux_cgroups_relative_cpus", "linux_cgroups_relative_devices",
];
// Not misc_props: its first case runs /runtimetest in a bundle it does not copy it into, and box-runc,
// as runc, fails the create of a command that is not in the container (exit 127).

const available = await ensureSuite();
// The suite runs box-runc on its default root: whatever it leaves there is a leak of a test here.
const DEFAULT_ROOT = "/run/box-runc";
const before = new Set(existsSync(DEFAULT_ROOT) ? readdirSync(DEFAULT_ROOT) : []);
afterAll(() => {
  const left = (existsSync(DEFAULT_ROOT) ? readdirSync(DEFAULT_ROOT) : []).filter((id) => !before.has(id));
  expect(left).toEqual([]);
  // Each file runs in a mount namespace of its own (runTest): none of its bundles' mounts is the host's.
  expect(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes("box-oci-validation-"))).toEqual([]);
});

describe("the OCI runtime spec's validation suite, against box-runc", () => {
  if (!available) {
    test.skip("the suite's source is not on this machine (see scripts/oci-validation.ts)", () => {});
    return;
  }
  for (const name of SUBSET) {
    test(name, async () => {
      const o = await runTest(BOXRUNC, name);
      if (!o.passed) console.error(o.output);
      expect({ name, passed: o.passed, code: o.code, notOk: o.notOk }).toEqual({ name, passed: true, code: 0, notOk: 0 });
    }, 120_000);
  }
});
