/**
 * --userns=auto, as root: a container's root is an unprivileged id of the host's, from a range of
 * 65536 its own (the default block from 2^31, /etc/subuid having no "box" line here), the image's
 * layers shared through idmapped mounts (never copied nor chowned), the range given back at rm.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { box, withRoot } from "../e2e/harness";

const REGISTRY = "/var/lib/box/userns";
const claimsOf = (root: string) =>
  existsSync(REGISTRY) ? readdirSync(REGISTRY).filter((n) => /^\d+$/.test(n) && readFileSync(join(REGISTRY, n), "utf8").includes(encodeURIComponent(root))) : [];

describe("--userns=auto", () => {
  test("root inside is an id of its own range outside; layers are shared through idmapped mounts; exec joins; two containers, two ranges; given back at rm", () =>
    withRoot(async (root) => {
      const a = (await box(root, ["run", "-d", "--userns", "auto", "--name", "a", "sh", "-c", "touch /by-root; exec sleep 60"])).stdout.trim();
      const b = (await box(root, ["run", "-d", "--userns", "auto", "--name", "b", "sleep", "60"])).stdout.trim();
      expect(a).toMatch(/^[0-9a-f]{64}$/);
      expect(b).toMatch(/^[0-9a-f]{64}$/);
      const mapOf = async (name: string) => (await box(root, ["exec", name, "cat", "/proc/self/uid_map"])).stdout.trim().split(/\s+/).map(Number);
      const [ia, oa, na] = await mapOf("a");
      const [, ob] = await mapOf("b");
      expect([ia, na]).toEqual([0, 65536]);
      expect(oa).toBeGreaterThanOrEqual(2 ** 31);
      expect(ob).not.toBe(oa);
      expect(Math.abs(ob! - oa!)).toBeGreaterThanOrEqual(65536);
      // On the host: the container's processes run as that id; what its root writes belongs to it.
      const init = Number((await box(root, ["inspect", "-f", "{{.State.Pid}}", "a"])).stdout.trim());
      expect(readFileSync(`/proc/${init}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${oa}\\s`, "m"));
      expect(statSync(join(root, "containers", a, "upper/by-root")).uid).toBe(oa!);
      // Inside, the image's files are root's and group shadow's as always; on disk they stay root's.
      expect((await box(root, ["exec", "a", "stat", "-c", "%u %g", "/bin/busybox", "/etc/shadow"])).stdout).toBe("0 0\n0 42\n");
      const layers = join(root, "images/layers");
      const diff = join(layers, readdirSync(layers)[0]!, "diff");
      expect(statSync(join(diff, "bin/busybox")).uid).toBe(0);
      expect(statSync(join(diff, "etc/shadow")).gid).toBe(42);
      // The config stays root's alone (the container's directory is only searchable by its ids).
      expect(statSync(join(root, "containers", a, "config.json")).mode & 0o777).toBe(0o600);
      expect(claimsOf(root).length).toBe(2);
      expect((await box(root, ["rm", "-f", "a", "b"])).code).toBe(0);
      expect(claimsOf(root)).toEqual([]);
      // An ephemeral one gives its range back itself.
      expect((await box(root, ["run", "--userns", "auto", "true"])).code).toBe(0);
      expect(claimsOf(root)).toEqual([]);
    }));

  test("bad input: --userns takes auto or host; --rootfs and --pid host do not go with it", () =>
    withRoot(async (root) => {
      expect(await box(root, ["run", "--userns", "keep-id", "true"])).toMatchObject({ code: 125, stderr: 'box: invalid --userns "keep-id": use auto (ids of the container\'s own) or host\n' });
      expect(await box(root, ["run", "--userns", "auto", "--pid", "host", "true"])).toMatchObject({ code: 125, stderr: "box: --pid host cannot go with a user namespace of the container's (--userns=auto): it may not mount the host's /proc\n" });
      expect(await box(root, ["run", "--userns", "auto", "--rootfs", root, "true"])).toMatchObject({ code: 125, stderr: "box: --userns=auto needs an image: a --rootfs directory's files keep the owners they have\n" });
      expect((await box(root, ["run", "--userns", "host", "true"])).code).toBe(0);
      expect(claimsOf(root)).toEqual([]);
    }));
});
