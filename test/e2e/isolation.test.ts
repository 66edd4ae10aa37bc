// What a user sees inside a container, checked from inside and from the host.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import { box, hostNs, spawnBox, withRoot } from "./harness";

describe("box run: isolation", () => {
  test("runs on the embedded Alpine with its own hostname, defaulting to the short id", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "cat /etc/alpine-release; hostname; cat /etc/hostname"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [release, name, file] = r.stdout.trim().split("\n");
      expect(release).toBe("3.20.3");
      expect(name).toMatch(/^[0-9a-f]{12}$/);
      expect(name).not.toBe(hostname());
      expect(file).toBe(name);
    }));

  test("--hostname sets the hostname, /etc/hostname and /etc/hosts; the host's is unchanged", () =>
    withRoot(async (root) => {
      const before = hostname();
      const r = await box(root, ["run", "--hostname", "web-1", "sh", "-c", "hostname; cat /etc/hostname; grep web-1 /etc/hosts"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("web-1\nweb-1\n127.0.1.1\tweb-1\n");
      expect(hostname()).toBe(before);
    }));

  test("every namespace differs from the host's: uts, ipc, mnt, net, pid, cgroup", () =>
    withRoot(async (root) => {
      const kinds = ["uts", "ipc", "mnt", "net", "pid", "cgroup"];
      const r = await box(root, ["run", "sh", "-c", kinds.map((k) => `readlink /proc/self/ns/${k}`).join(";")]);
      expect(r.code).toBe(0);
      const inside = r.stdout.trim().split("\n");
      expect(inside).toHaveLength(kinds.length);
      kinds.forEach((k, i) => {
        expect(inside[i]).toMatch(new RegExp(`^${k}:\\[\\d+\\]$`));
        expect(inside[i]).not.toBe(hostNs(k));
      });
    }));

  test("PID 1 is box's init, the command is PID 2, and the host's processes are invisible", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "echo $$; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; echo; cat /proc/1/comm"]);
      expect(r.code).toBe(0);
      const [pid, pids, init] = r.stdout.split("\n");
      expect(pid).toBe("2");
      expect(init).toBe("box-init");
      // init, sh, and the ls/grep/sort/tr pipeline: nothing of the host's hundreds of processes.
      const seen = pids!.trim().split(" ").map(Number);
      expect(seen[0]).toBe(1);
      expect(seen.length).toBeLessThan(8);
    }));

  test("the network is loopback only, and it is up", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toBe("lo");
      // IFF_UP (0x1) is set on lo.
      expect(Number(lines[2]) & 1).toBe(1);
      expect(lines).toContain("ping-ok");
    }));

  test("/proc, a small /dev with exactly the default devices, read-only /sys, and the /etc files", () =>
    withRoot(async (root) => {
      const r = await box(root, [
        "run", "sh", "-c",
        "ls /dev | tr '\\n' ' '; echo; stat -c '%n %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty;" +
          "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done;" +
          "touch /sys/x 2>&1 || true; ls /etc/hostname /etc/hosts /etc/resolv.conf; cat /proc/1/status | head -1; " +
          "grep -E ' (/dev/pts|/dev/shm|/dev/mqueue|/sys|/proc|/dev) ' /proc/mounts | cut -d' ' -f1-4",
      ]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]!.trim().split(" ").sort()).toEqual(
        ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"],
      );
      expect(lines.slice(1, 7)).toEqual(["/dev/null 1:3 666", "/dev/zero 1:5 666", "/dev/full 1:7 666", "/dev/random 1:8 666", "/dev/urandom 1:9 666", "/dev/tty 5:0 666"]);
      expect(lines.slice(7, 12)).toEqual(["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx"]);
      expect(lines[12]).toContain("Read-only file system");
      expect(lines.slice(13, 16)).toEqual(["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]);
      const mounts = lines.slice(17);
      expect(mounts).toContain("proc /proc proc rw,nosuid,nodev,noexec,relatime");
      expect(mounts.some((m) => m.startsWith("sysfs /sys sysfs ro,"))).toBe(true);
      expect(mounts.some((m) => m.startsWith("devpts /dev/pts devpts "))).toBe(true);
      expect(mounts.some((m) => m.startsWith("tmpfs /dev tmpfs "))).toBe(true);
      expect(mounts.some((m) => m.startsWith("shm /dev/shm tmpfs "))).toBe(true);
      expect(mounts.some((m) => m.startsWith("mqueue /dev/mqueue mqueue "))).toBe(true);
    }));

  test("the root is pivoted: the host's root and box's state are unreachable", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", `ls ${root} 2>&1; ls /work 2>&1; cat /proc/self/mountinfo | head -1 | cut -d' ' -f5`]);
      expect(r.stdout).toContain(`ls: ${root}: No such file or directory`);
      expect(r.stdout).toContain("ls: /work: No such file or directory");
      expect(r.stdout.trim().split("\n").pop()).toBe("/");
    }));

  test("nothing the container mounts shows in the host's mount table while it runs", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "sh", "-c", "echo ready; sleep 5"]);
      const reader = proc.stdout.getReader();
      await reader.read(); // "ready"
      const hostMounts = readFileSync("/proc/self/mountinfo", "utf8");
      expect(hostMounts).not.toContain(root);
      // The container's own mounts (its root overlay, its devpts, its /dev tmpfs), found by their
      // device numbers in its mount table, appear nowhere in the host's (other containers' mounts
      // on this machine are not this test's business).
      const id = readdirSync(join(root, "containers")).find((e) => /^[0-9a-f]{64}$/.test(e))!;
      const init = Number(readFileSync(join(root, "run", `${id}.pid`), "utf8").split(" ")[2]);
      const devices = (text: string, types: RegExp) =>
        text.split("\n").filter((l) => types.test(l.split(" - ")[1] ?? "")).map((l) => l.split(" ")[2]!);
      const theirs = devices(readFileSync(`/proc/${init}/mountinfo`, "utf8"), /^(overlay|devpts|tmpfs|mqueue) /);
      expect(theirs.length).toBeGreaterThan(3);
      const ours = new Set(hostMounts.split("\n").map((l) => l.split(" ")[2]));
      expect(theirs.filter((dev) => ours.has(dev))).toEqual([]);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(143);
    }));

  test("the host sees the command under another pid, inside a different pid namespace", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "sh", "-c", "echo ready; exec sleep 5"]);
      const reader = proc.stdout.getReader();
      await reader.read();
      // The supervisor is box's own pid; its child is the container's init, whose child is sleep.
      const children = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
      const [init] = children(proc.pid);
      const [cmd] = children(init!);
      // "ready" comes just before the exec: give sh a moment to become sleep.
      for (let i = 0; i < 100 && readFileSync(`/proc/${cmd}/cmdline`, "utf8") !== "sleep\x005\x00"; i++) await Bun.sleep(10);
      expect(readFileSync(`/proc/${cmd}/cmdline`, "utf8")).toBe("sleep\x005\x00");
      expect(readFileSync(`/proc/${cmd}/status`, "utf8")).toMatch(new RegExp(`NSpid:\\s+${cmd}\\s+2\\n`));
      expect(hostNs("pid")).not.toBe(require("node:fs").readlinkSync(`/proc/${cmd}/ns/pid`));
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(143);
    }));
});

describe("box run --network", () => {
  test("host shares the host's network stack (with a warning on stderr, stdout untouched); none is loopback only", () =>
    withRoot(async (root) => {
      const host = await box(root, ["run", "--network", "host", "sh", "-c", "readlink /proc/self/ns/net; ls /sys/class/net | tr '\\n' ' '"]);
      expect(host.code).toBe(0);
      const [ns, links] = host.stdout.split("\n");
      expect(ns).toBe(hostNs("net"));
      expect(links!.trim().split(" ").sort()).toEqual(require("node:fs").readdirSync("/sys/class/net").sort());
      expect(host.stderr).toBe("box: warning: --network host shares the host's network stack: the container can use every interface, address and port of the host\n");
      const none = await box(root, ["run", "--network", "none", "ls", "/sys/class/net"]);
      expect(none.stdout).toBe("lo\n");
    }));

  test("an unknown mode is an error (bridge is tested in test/net, inside a namespace of its own)", () =>
    withRoot(async (root) => {
      expect(await box(root, ["run", "--network", "overlay", "true"])).toMatchObject({ code: 125, stderr: 'box: unknown network "overlay": use bridge, none, host, pasta or slirp4netns\n' });
    }));
});
