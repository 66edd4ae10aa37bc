// docker's run flags, typed as a docker user types them, through dist/box; each test in its own store.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { helperSupports } from "../../src/container/support";
import { box, hostNs, withRoot } from "../e2e/harness";

async function inspect(root: string, name: string, format: string): Promise<string> {
  const r = await box(root, ["inspect", "-f", format, name]);
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe("docker's spellings", () => {
  test("-h is the hostname (help is --help); --flag=value; combined short flags; -dit keeps a shell", () =>
    withRoot(async (root) => {
      expect(await box(root, ["run", "-h", "myhost", "alpine", "hostname"])).toMatchObject({ code: 0, stdout: "myhost\n", stderr: "" });
      expect((await box(root, ["run", "--hostname=other", "--env=A=1", "--memory=64m", "alpine", "sh", "-c", "hostname; echo $A"])).stdout).toBe("other\n1\n");
      expect((await box(root, ["run", "--help"])).stdout).toContain("-h, --hostname=<NAME>");
      const r = await box(root, ["run", "-dit", "--name=sh1", "alpine", "sh"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(await inspect(root, "sh1", "{{.State.Status}} {{.Config.Tty}} {{.Config.OpenStdin}}")).toBe("running true true");
      expect((await box(root, ["rm", "-f", "sh1"])).code).toBe(0);
      // A flag docker has and box does not: docker's words, docker's status.
      expect(await box(root, ["run", "--volumes-from", "x", "alpine", "true"])).toMatchObject({ code: 125, stderr: "box: unknown flag: --volumes-from. See 'box run --help'.\n" });
    }));

  test("--init is accepted (box always runs one); --rm and --restart conflict", () =>
    withRoot(async (root) => {
      expect(await box(root, ["run", "--init", "alpine", "sh", "-c", "cat /proc/1/comm"])).toMatchObject({ code: 0, stdout: "box-init\n" });
      expect(await box(root, ["run", "--rm", "--restart", "always", "alpine", "true"])).toMatchObject({ code: 125, stderr: "box: conflicting options: --restart and --rm\n" });
      expect((await box(root, ["run", "--restart", "sometimes", "alpine", "true"])).stderr).toContain('invalid --restart "sometimes"');
      await box(root, ["create", "--name", "c", "--init", "--restart", "no", "alpine", "true"]);
      expect(await inspect(root, "c", "{{.HostConfig.Init}} {{json .HostConfig.RestartPolicy}}")).toBe('true {"Name":"no","MaximumRetryCount":0}');
      expect((await box(root, ["rm", "c"])).code).toBe(0);
    }));
});

describe("environment, names, labels", () => {
  test("--env-file then -e (a later KEY wins), and a missing file in one sentence", () =>
    withRoot(async (root) => {
      const file = join(root, "env");
      writeFileSync(file, "# settings\nA=from-file\nB=kept\n\nHOSTVAR\n");
      const r = await box(root, ["run", "--env-file", file, "-e", "A=from-flag", "alpine", "sh", "-c", "echo $A $B $HOSTVAR"], { env: { HOSTVAR: "copied" } });
      expect(r).toMatchObject({ code: 0, stdout: "from-flag kept copied\n" });
      const bad = await box(root, ["run", "--env-file", join(root, "nope"), "alpine", "true"]);
      expect(bad).toMatchObject({ code: 125, stderr: `box: cannot read the --env-file ${join(root, "nope")}: no such file or directory\n` });
    }));

  test("--label and -l show in inspect and select in ps --filter label=", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "a", "-l", "tier=web", "--label", "team", "sleep", "30"]);
      await box(root, ["run", "-d", "--name", "b", "-l", "tier=db", "sleep", "30"]);
      expect(await inspect(root, "a", "{{json .Config.Labels}}")).toBe('{"tier":"web","team":""}');
      expect((await box(root, ["ps", "--filter", "label=tier=web", "--format", "{{.Names}}"])).stdout).toBe("a\n");
      expect((await box(root, ["ps", "--filter", "label=tier", "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean).sort()).toEqual(["a", "b"]);
      expect((await box(root, ["ps", "--format", "{{.Labels}}", "--filter", "name=^b$"])).stdout).toBe("tier=db\n");
      expect((await box(root, ["rm", "-f", "a", "b"])).code).toBe(0);
    }));

  test("every container gets a name (adjective_surname) when not given one; --cidfile", () =>
    withRoot(async (root) => {
      const cidfile = join(root, "cid");
      const id = (await box(root, ["run", "-d", "--cidfile", cidfile, "sleep", "30"])).stdout.trim();
      expect(readFileSync(cidfile, "utf8")).toBe(id);
      const name = (await box(root, ["ps", "--format", "{{.Names}}"])).stdout.trim();
      expect(name).toMatch(/^[a-z]+_[a-z]+\d?$/);
      expect(await inspect(root, name, "{{.Id}}")).toBe(id);
      const again = await box(root, ["run", "-d", "--cidfile", cidfile, "sleep", "30"]);
      expect(again).toMatchObject({ code: 125, stderr: `box: the container id file ${cidfile} exists: make sure no other container uses it, or remove it\n` });
      expect((await box(root, ["rm", "-f", name])).code).toBe(0);
    }));
});

describe("/etc/hosts and /etc/resolv.conf", () => {
  test("--add-host, --dns, --dns-search, --dns-option", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--add-host", "db:10.1.2.3", "--add-host=cache=10.1.2.4", "--dns", "9.9.9.9", "--dns-search", "example.org", "--dns-option", "ndots:2", "alpine", "sh", "-c", "grep -E 'db|cache' /etc/hosts; cat /etc/resolv.conf"]);
      expect(r.stdout).toBe("10.1.2.3\tdb\n10.1.2.4\tcache\nsearch example.org\nnameserver 9.9.9.9\noptions ndots:2\n");
      expect((await box(root, ["run", "--dns", "not-an-ip", "alpine", "true"])).stderr).toBe('box: invalid --dns "not-an-ip": give the IP address of a name server\n');
      expect((await box(root, ["run", "--add-host", "gw:host-gateway", "alpine", "true"])).stderr).toBe("box: --add-host gw:host-gateway needs --network bridge: only a bridged container has a gateway\n");
    }));
});

describe("namespaces shared with the host", () => {
  test("--pid host sees the host's processes; --ipc host shares SysV IPC and /dev/shm; --uts host the hostname", () =>
    withRoot(async (root) => {
      const marker = Bun.spawn(["sleep", "30"]);
      const shm = `/dev/shm/box-test-${process.pid}`;
      writeFileSync(shm, "shared\n");
      try {
        const pid = await box(root, ["run", "--pid", "host", "alpine", "sh", "-c", `test -d /proc/${marker.pid} && echo sees-host; readlink /proc/self/ns/pid`]);
        expect(pid.stdout).toBe(`sees-host\n${hostNs("pid")}\n`);
        const ipc = await box(root, ["run", "--ipc", "host", "alpine", "sh", "-c", `readlink /proc/self/ns/ipc; cat ${shm}`]);
        expect(ipc.stdout).toBe(`${hostNs("ipc")}\nshared\n`);
        const own = await box(root, ["run", "alpine", "sh", "-c", `readlink /proc/self/ns/ipc; test -e ${shm} || echo private-shm`]);
        expect(own.stdout).not.toContain(hostNs("ipc"));
        expect(own.stdout).toContain("private-shm");
        expect((await box(root, ["run", "--uts", "host", "alpine", "hostname"])).stdout).toBe(`${hostname()}\n`);
        expect(hostname()).toBe(readFileSync("/proc/sys/kernel/hostname", "utf8").trim()); // untouched
        expect((await box(root, ["run", "--uts", "host", "-h", "x", "alpine", "true"])).stderr).toBe("box: conflicting options: --hostname and --uts host (the container has the host's hostname)\n");
        expect((await box(root, ["run", "--pid", "container:x", "alpine", "true"])).stderr).toContain('invalid --pid "container:x"');
      } finally {
        marker.kill();
        rmSync(shm, { force: true });
      }
    }));

  test("--pid host: box stop and kill still end every process of the container", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--pid", "host", "--name", "p", "--stop-timeout", "1", "sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000"]);
      const init = Number(await inspect(root, "p", "{{.State.Pid}}"));
      expect(init).toBeGreaterThan(1);
      expect((await box(root, ["stop", "p"])).code).toBe(0);
      expect(await inspect(root, "p", "{{.State.Status}}")).toBe("exited");
      expect((await box(root, ["rm", "p"])).code).toBe(0);
      // withRoot: no process, cgroup or file of it is left.
    }));
});

describe("devices", () => {
  test("--device binds a host character device (checked by its numbers); block devices are refused", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--device", "/dev/zero:/dev/myzero", "--device", "/dev/fuse", "alpine", "sh", "-c", "head -c 3 /dev/myzero | od -An -tx1; test -c /dev/fuse && echo fuse"]);
      expect(r).toMatchObject({ code: 0, stdout: " 00 00 00\nfuse\n", stderr: "" });
      await box(root, ["create", "--name", "d", "--device", "/dev/zero:/dev/myzero:rwm", "alpine", "true"]);
      expect(await inspect(root, "d", "{{json .HostConfig.Devices}}")).toBe('[{"PathOnHost":"/dev/zero","PathInContainer":"/dev/myzero","CgroupPermissions":"rwm"}]');
      expect((await box(root, ["rm", "d"])).code).toBe(0);
      if (existsSync("/dev/loop0")) {
        const block = await box(root, ["run", "--device", "/dev/loop0", "alpine", "true"]);
        expect(block).toMatchObject({ code: 125, stderr: 'box: invalid --device "/dev/loop0": /dev/loop0 is a block device: box mounts every writable filesystem nodev, so the container could not open it\n' });
      }
      expect((await box(root, ["run", "--device", "/dev/nope", "alpine", "true"])).stderr).toBe('box: invalid --device "/dev/nope": /dev/nope does not exist\n');
    }));
});

describe("stop signal and timeout", () => {
  test("--stop-signal is what box stop sends; --stop-timeout how long it waits", () =>
    withRoot(async (root) => {
      await box(root, ["run", "-d", "--name", "s", "--stop-signal", "USR1", "sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"]);
      for (let i = 0; i < 100 && !(await box(root, ["logs", "s"])).stdout.includes("ready"); i++) await Bun.sleep(20);
      expect(await inspect(root, "s", "{{.Config.StopSignal}}")).toBe("SIGUSR1");
      expect((await box(root, ["stop", "s"])).code).toBe(0);
      expect((await box(root, ["logs", "s"])).stdout).toBe("ready\ngot-usr1\n");
      expect(await inspect(root, "s", "{{.State.ExitCode}}")).toBe("7");
      await box(root, ["run", "-d", "--name", "t", "--stop-timeout", "1", "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]);
      const t0 = Date.now();
      expect((await box(root, ["stop", "t"])).code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await inspect(root, "t", "{{.State.ExitCode}} {{.Config.StopTimeout}}")).toBe("137 1");
      expect((await box(root, ["rm", "s", "t"])).code).toBe(0);
    }));
});

describe("what the helper carries out (refused in one sentence until its plan has the step)", () => {
  test("--ulimit", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--ulimit", "nofile=100:200", "alpine", "sh", "-c", "ulimit -n; ulimit -Hn"]);
      if (helperSupports("rlimit")) expect(r).toMatchObject({ code: 0, stdout: "100\n200\n" });
      else expect(r).toMatchObject({ code: 125, stderr: "box: --ulimit is not supported by this build of box yet: its helper cannot set resource limits\n" });
      expect((await box(root, ["run", "--ulimit", "nofile=x", "alpine", "true"])).stderr).toBe('box: invalid --ulimit "nofile=x": use NAME=SOFT[:HARD], like nofile=1024:2048\n');
    }));

  test("--sysctl", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "alpine", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]);
      if (helperSupports("sysctl")) expect(r).toMatchObject({ code: 0, stdout: "80\n" });
      else expect(r).toMatchObject({ code: 125, stderr: "box: --sysctl is not supported by this build of box yet: its helper cannot write sysctls inside the container\n" });
      expect((await box(root, ["run", "--sysctl", "kernel.hostname=x", "alpine", "true"])).stderr).toContain("--sysctl kernel.hostname is not allowed: only namespaced ones are");
    }));

  test("--restart other than no", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "-d", "--name", "r", "--restart", "on-failure:2", "alpine", "sh", "-c", "exit 3"]);
      if (!helperSupports("restart")) {
        expect(r).toMatchObject({ code: 125, stderr: "box: --restart is not supported by this build of box yet: its helper cannot restart a command (use --restart no)\n" });
        return;
      }
      expect(r.code).toBe(0);
      for (let i = 0; i < 200 && (await inspect(root, "r", "{{.State.Status}}")) !== "exited"; i++) await Bun.sleep(50);
      expect(await inspect(root, "r", "{{.RestartCount}} {{.State.ExitCode}}")).toBe("2 3");
      expect((await box(root, ["rm", "-f", "r"])).code).toBe(0);
    }), 30_000);
});
