// Output shapes, parsed the way scripts parse docker's: ps columns and templates, JSON lines read
// by jq, inspect documents and -f, filters; and where podman shows the same line here, its shape.
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { ALPINE_TARBALL, BOX, box, run, scopeEnv, tempDir, withRoot } from "../e2e/harness";

const PS_KEYS = ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"];

/** A shell line with box in it, as a script runs it (box on PATH as box, the test's store). */
function sh(root: string, script: string) {
  return run(["sh", "-c", script], { env: { PATH: `${BOX.replace(/\/box$/, "")}:${process.env.PATH}`, BOX_ROOT: root, ...scopeEnv() } });
}

describe("box ps", () => {
  test("docker's table, --format '{{.Names}}', JSON lines that jq reads, --no-trunc, -q", () =>
    withRoot(async (root) => {
      expect((await box(root, ["ps"])).stdout).toBe("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n");
      const id = (await box(root, ["run", "-d", "--name", "web", "-l", "a=b", "sh", "-c", "echo a long command line; sleep 30"])).stdout.trim();
      expect((await sh(root, "box ps --format '{{.Names}}'")).stdout).toBe("web\n");
      const jq = await sh(root, "box ps --format '{{json .}}' | jq -r '.Names + \" \" + .State + \" \" + .Labels'");
      expect(jq).toMatchObject({ code: 0, stdout: "web running a=b\n" });
      const [row] = (await box(root, ["ps", "--format", "json"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(Object.keys(row)).toEqual(PS_KEYS);
      expect(row).toMatchObject({ ID: id.slice(0, 12), Image: "alpine:3.20.3", Command: '"sh -c echo a long c…"', Names: "web", State: "running", Networks: "none", Ports: "" });
      expect(row.Status).toMatch(/^Up /);
      expect(row.CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
      const full = JSON.parse((await box(root, ["ps", "--no-trunc", "--format", "json"])).stdout);
      expect(full).toMatchObject({ ID: id, Command: '"sh -c echo a long command line; sleep 30"' });
      expect((await box(root, ["ps", "-q"])).stdout).toBe(`${id.slice(0, 12)}\n`);
      expect((await box(root, ["ps", "-q", "--no-trunc"])).stdout).toBe(`${id}\n`);
      const table = (await box(root, ["ps", "--format", "table {{.Names}}\t{{.State}}"])).stdout;
      expect(table).toBe("NAMES     STATE\nweb       running\n");
      const sized = (await box(root, ["ps", "-s"])).stdout.split("\n");
      expect(sized[0]).toMatch(/PORTS\s+NAMES\s+SIZE$/);
      expect(sized[1]).toMatch(/web\s+\d+B \(virtual \S+MB\)$/);
      expect((await box(root, ["rm", "-f", "web"])).code).toBe(0);
    }));

  test("-n, -l, --filter status, name, id, ancestor, exited, label; a bad filter in one sentence", () =>
    withRoot(async (root) => {
      const names = async (...args: string[]) => (await box(root, ["ps", ...args, "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
      await box(root, ["run", "--name", "first", "sh", "-c", "exit 3"]);
      await box(root, ["run", "--name", "second", "true"]);
      const upId = (await box(root, ["run", "-d", "--name", "up", "sleep", "30"])).stdout.trim();
      await box(root, ["create", "--name", "last", "alpine", "true"]);
      expect(await names()).toEqual(["up"]);
      expect(await names("-a")).toEqual(["last", "up", "second", "first"]);
      expect(await names("-n", "2")).toEqual(["last", "up"]);
      expect(await names("-l")).toEqual(["last"]);
      expect(await names("--filter", "status=exited")).toEqual(["second", "first"]);
      expect(await names("-f", "status=created", "-f", "status=running")).toEqual(["last", "up"]);
      expect(await names("-a", "--filter", "name=sec")).toEqual(["second"]);
      expect(await names("-a", "--filter", `id=${upId.slice(0, 6)}`)).toEqual(["up"]);
      expect(await names("-a", "--filter", "exited=3")).toEqual(["first"]);
      expect(await names("-a", "--filter", "ancestor=alpine:3.20.3", "--filter", "status=exited")).toEqual(["second", "first"]);
      // alpine (alpine:latest) is the embedded Alpine here: the same image, whatever name it was run by.
      expect(await names("-a", "--filter", "ancestor=alpine")).toEqual(["last", "up", "second", "first"]);
      expect(await names("-a", "--filter", "label=nope")).toEqual([]);
      expect(await box(root, ["ps", "--filter", "colour=red"])).toMatchObject({ code: 125, stderr: "box: invalid filter 'colour': use id, name, label, status, ancestor, exited\n" });
      expect((await box(root, ["ps", "--filter", "status=asleep"])).stderr).toContain("invalid filter 'status=asleep'");
      expect(await box(root, ["ps", "--format", "{{.Nope}}"])).toMatchObject({ code: 125, stderr: 'box: invalid --format "{{.Nope}}": the field .Nope does not exist\n' });
      expect((await box(root, ["rm", "-f", "first", "second", "up", "last"])).code).toBe(0);
    }));
});

describe("box inspect", () => {
  test("docker's documents: -f '{{.State.Pid}}' is the container's init; several names; a missing one", () =>
    withRoot(async (root) => {
      const id = (await box(root, ["run", "-d", "--name", "svc", "-m", "64m", "--cpus", "0.5", "--cap-add", "SYS_PTRACE", "--cap-drop", "MKNOD", "-e", "X=1", "sleep", "30"])).stdout.trim();
      await box(root, ["run", "--name", "gone", "sh", "-c", "exit 4"]);
      const pid = (await box(root, ["inspect", "-f", "{{.State.Pid}}", "svc"])).stdout.trim();
      expect(pid).toMatch(/^\d+$/);
      expect(readFileSync(`/proc/${pid}/comm`, "utf8")).toBe("box-init\n");
      const r = await box(root, ["inspect", "svc", "gone", "ghost"]);
      expect(r).toMatchObject({ code: 1, stderr: "box: no such object: ghost\n" });
      expect(r.stdout).toStartWith("[\n    {\n        \"Id\": ");
      const [svc, gone] = JSON.parse(r.stdout);
      expect(Object.keys(svc)).toEqual(["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"]);
      expect(Object.keys(svc.State)).toEqual(["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"]);
      expect(svc).toMatchObject({
        Id: id,
        Name: "/svc",
        State: { Status: "running", Running: true, Pid: Number(pid), ExitCode: 0, FinishedAt: "0001-01-01T00:00:00Z" },
        HostConfig: { Memory: 67108864, NanoCpus: 500000000, PidsLimit: 2048, NetworkMode: "none", CapAdd: ["SYS_PTRACE"], CapDrop: ["MKNOD"], AutoRemove: false, Privileged: false, RestartPolicy: { Name: "no", MaximumRetryCount: 0 } },
        Config: { Cmd: ["sleep", "30"], Image: "alpine:3.20.3", Hostname: id.slice(0, 12), Entrypoint: null },
        NetworkSettings: { IPAddress: "", Ports: {} },
      });
      expect(svc.Config.Env).toContain("X=1");
      expect(gone.State).toMatchObject({ Status: "exited", Running: false, Pid: 0, ExitCode: 4 });
      expect(gone.State.FinishedAt).not.toBe("0001-01-01T00:00:00Z");
      const lines = (await box(root, ["inspect", "--format", "{{.Name}} {{.State.ExitCode}}", "svc", "gone"])).stdout;
      expect(lines).toBe("/svc 0\n/gone 4\n");
      expect((await sh(root, "box inspect svc | jq -r '.[0].HostConfig.Memory'")).stdout).toBe("67108864\n");
      expect((await box(root, ["rm", "-f", "svc", "gone"])).code).toBe(0);
    }));

  test("images too: a name that is no container is looked up as an image", () =>
    withRoot(async (root) => {
      await box(root, ["run", "alpine:3.20.3", "true"]);
      const [img] = JSON.parse((await box(root, ["inspect", "alpine:3.20.3"])).stdout);
      const imageId = String(img.Id);
      expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(img).toMatchObject({ RepoTags: ["alpine:3.20.3"], Os: "linux" });
      expect((await box(root, ["inspect", "-f", "{{.Id}}", imageId.slice(7, 19)])).stdout).toBe(`${imageId}\n`);
      expect((await box(root, ["inspect", "--type", "container", "alpine:3.20.3"])).stderr).toBe("box: no such container: alpine:3.20.3\n");
    }));
});

describe("inspect's Config from the image", () => {
  test("Entrypoint and Cmd apart, as docker splits them; ExposedPorts", () =>
    withRoot(async (root) => {
      expect((await box(root, ["import", "-c", 'ENTRYPOINT ["/bin/echo"]', "-c", 'CMD ["hi"]', "-c", "EXPOSE 80", ALPINE_TARBALL, "echoer:1"])).code).toBe(0);
      await box(root, ["create", "--name", "a", "echoer:1"]);
      await box(root, ["create", "--name", "b", "echoer:1", "there"]);
      await box(root, ["create", "--name", "c", "--entrypoint", "/bin/ls", "echoer:1", "-l"]);
      const f = "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Path}} {{json .Args}}";
      expect((await box(root, ["inspect", "-f", f, "a", "b", "c"])).stdout).toBe(
        '["/bin/echo"] ["hi"] {"80/tcp":{}} /bin/echo ["hi"]\n["/bin/echo"] ["there"] {"80/tcp":{}} /bin/echo ["there"]\n["/bin/ls"] ["-l"] {"80/tcp":{}} /bin/ls ["-l"]\n',
      );
      expect((await box(root, ["start", "-a", "b"])).stdout).toBe("there\n");
      expect((await box(root, ["rm", "a", "b", "c"])).code).toBe(0);
    }));
});

describe("the same lines in podman, where podman can show them here", () => {
  const podmanRoot = tempDir("box-podman-");
  const podman = (args: string[]) =>
    run(["podman", "--root", `${podmanRoot}/root`, "--runroot", `${podmanRoot}/run`, "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", ...args], { timeoutMs: 120_000 });
  const header = (text: string) => text.split("\n")[0]!.trim().split(/\s{2,}/);

  test("ps, images and inspect: the same columns in the same order, inspect's keys a subset of podman's", async () => {
    if (!Bun.which("podman")) return;
    try {
      expect((await podman(["import", ALPINE_TARBALL, "alpine:3.20.3"])).code).toBe(0);
      expect((await podman(["create", "--name", "web", "-l", "a=b", "alpine:3.20.3", "sleep", "30"])).code).toBe(0);
      await withRoot(async (root) => {
        await box(root, ["create", "--name", "web", "-l", "a=b", "alpine:3.20.3", "sleep", "30"]);
        expect(header((await box(root, ["ps", "-a"])).stdout)).toEqual(header((await podman(["ps", "-a"])).stdout));
        expect(header((await box(root, ["images"])).stdout)).toEqual(header((await podman(["images"])).stdout));
        // ({{.State}} is docker's lower-case word, where podman's is capitalised.)
        const line = "{{.Names}} {{.Status}} {{.Command}}";
        expect((await box(root, ["ps", "-a", "--format", line])).stdout.replaceAll('"', "")).toBe((await podman(["ps", "-a", "--format", line])).stdout);
        const [mine] = JSON.parse((await box(root, ["inspect", "web"])).stdout);
        const [theirs] = JSON.parse((await podman(["inspect", "web"])).stdout);
        // docker has these and podman does not: LogPath, Platform; HostConfig.Init, Sysctls.
        expect(Object.keys(mine).filter((k) => !(k in theirs))).toEqual(["LogPath", "Platform"]);
        const order = (keys: string[], of: string[]) => keys.filter((k) => of.includes(k));
        expect(order(Object.keys(theirs.State), Object.keys(mine.State))).toEqual(Object.keys(mine.State));
        expect(Object.keys(mine.HostConfig).filter((k) => !(k in theirs.HostConfig))).toEqual(["Sysctls", "Init"]);
        expect(Object.keys(mine.Config).filter((k) => !(k in theirs.Config))).toEqual([]);
        expect(Object.keys(mine.NetworkSettings).filter((k) => !(k in theirs.NetworkSettings))).toEqual([]);
        expect(mine.Config.Labels).toEqual(theirs.Config.Labels);
        const f = "{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.Config.Cmd}} {{.HostConfig.NetworkMode | len}}";
        expect((await box(root, ["inspect", "-f", f, "web"])).stdout).toMatch(/^created false 0 \[sleep 30\] \d+\n$/);
        expect((await podman(["inspect", "-f", f, "web"])).stdout).toMatch(/^created false 0 \[sleep 30\] \d+\n$/);
        // docker's Name has a leading slash, podman's not: box says docker's.
        expect((await box(root, ["inspect", "-f", "{{.Name}}", "web"])).stdout).toBe("/web\n");
        expect((await box(root, ["rm", "web"])).code).toBe(0);
      });
    } finally {
      await podman(["rm", "-af"]);
      await podman(["rmi", "-af"]);
      rmSync(podmanRoot, { recursive: true, force: true });
    }
  }, 120_000);
});
