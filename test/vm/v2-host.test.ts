/**
 * The limits, proven on a pure cgroup v2 host that is also a minimal one: Debian's kernel booted
 * under qemu (TCG) with cgroup_no_v1=all, from an initramfs holding only busybox, glibc and
 * dist/box (test/vm/prepare.sh). The VM runs test/vm/proofs.sh and powers off; each PROOF line it
 * prints is a test here. Run alone with `npm run test:vm`.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { removeRoot, run, tempDir } from "../e2e/harness";
import { manyLayers } from "../helper/layers";

const here = import.meta.dir;
const proofs = new Map<string, string>();
let console = "";

beforeAll(async () => {
  const out = tempDir("box-vm-");
  try {
    // An image of 150 layers: this kernel (6.1) has no "lowerdir+", so the helper mounts it with
    // one page of options, the layers named relative to their directory.
    await manyLayers(join(out, "layers150"), 150);
    const prep = await run(["bash", join(here, "prepare.sh"), out], { timeoutMs: 600_000, env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", BOX_VM_LAYERS: join(out, "layers150") } });
    if (prep.code !== 0) throw new Error(`cannot prepare the VM: ${prep.stderr}`);
    const vm = await run(
      [
        "qemu-system-x86_64", "-cpu", "max", "-smp", "2", "-m", "2048", "-nographic", "-no-reboot",
        "-kernel", join(out, "vmlinuz"), "-initrd", join(out, "initramfs.gz"),
        "-append", "console=ttyS0 quiet cgroup_no_v1=all panic=-1",
      ],
      { timeoutMs: 540_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
    );
    console = vm.stdout + vm.stderr;
    for (const m of console.matchAll(/^PROOF (\S+) (PASS|FAIL) ?(.*?)\r?$/gm)) proofs.set(m[1]!, `${m[2]} ${m[3]}`.trim());
  } finally {
    removeRoot(out);
  }
}, 900_000);

describe("on a pure cgroup v2, minimal host (qemu)", () => {
  test("the VM booted, ran every proof and powered off", () => {
    expect({ done: console.includes("PROOFS DONE"), tail: console.slice(-1500) }).toMatchObject({ done: true });
  });
  for (const [name, what] of [
    ["v2-host", "only cgroup v2 is mounted"],
    ["run-ok", "box run sh -c 'echo ok' on the embedded Alpine"],
    ["cgroupns", "the container sees its cgroup as the root, read-only, pids.max 2048"],
    ["pids", "a fork bomb under --pids-limit 20 fails to fork and the container ends"],
    ["memory", "a memory hog under -m 32m is killed and reported, exit 137"],
    ["cpus", "--cpus 0.5 holds a busy loop to 0.3-0.7 CPU"],
    ["layers", "an image of 150 layers runs on a kernel without lowerdir+ (one page of options)"],
    ["oci-limits", "box-runc: a bundle's pids and memory limits on cgroup v2, seen in its own cgroup namespace"],
    ["oci-devices", "box-runc: the device rules as an eBPF program (a disk made with mknod cannot be opened)"],
    ["oci-lifecycle", "box-runc: create, state, start, delete --force, nothing left"],
  ] as const) {
    test(`${name}: ${what}`, () => {
      expect({ proof: name, result: proofs.get(name) ?? "missing" }).toEqual({ proof: name, result: expect.stringMatching(/^PASS/) });
    });
  }
});
