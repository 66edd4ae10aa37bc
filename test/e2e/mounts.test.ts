// -v binds, --mount, --tmpfs, --read-only, --shm-size through dist/box, checked from inside the
// container and from the host; each test with its own --root, and nothing left behind.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, tempDir, withRoot } from "./harness";

function hostDir(): string {
  const d = tempDir("box-bind-");
  writeFileSync(join(d, "from-host"), "host data\n");
  return d;
}

describe("binds", () => {
  test("-v HOST:CONTAINER: the host's file inside, the container's file on the host, -w into it", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        const r = await box(root, ["run", "-v", `${h}:/src`, "-w", "/src", "sh", "-c", "cat from-host; echo made inside > new; pwd; stat -c %U new"]);
        expect(r).toMatchObject({ code: 0, stdout: "host data\n/src\nroot\n", stderr: "" });
        expect(readFileSync(join(h, "new"), "utf8")).toBe("made inside\n");
        // A missing target is made inside the root, parents too; the bind is nodev, keeps the rest.
        const deep = await box(root, ["run", "-v", `${h}:/a/b/c`, "sh", "-c", "cat /a/b/c/from-host; grep ' /a/b/c ' /proc/mounts"]);
        expect(deep.stdout).toMatch(/^host data\n\S+ \/a\/b\/c \S+ rw,nodev/);
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test(":ro refuses writes, and remounting it read-write, also from a user namespace with SYS_ADMIN", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        const r = await box(root, ["run", "-v", `${h}:/src:ro`, "sh", "-c", "echo x > /src/w; echo write=$?; mount -o remount,rw /src; echo remount=$?; mount -o remount,bind,rw /src; echo bind=$?; grep ' /src ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"]);
        expect(r.stdout).toMatch(/^write=1\nremount=[1-9]\d*\nbind=[1-9]\d*\nro\n$/);
        const admin = await box(root, ["run", "--cap-add", "SYS_ADMIN", "--mount", `type=bind,source=${h},target=/src,readonly`, "sh", "-c", "unshare -U -r -m sh -c 'mount -o remount,bind,rw /src && echo remounted; echo x > /src/w'; echo done"]);
        expect(admin.stdout).toBe("done\n");
        expect(existsSync(join(h, "w"))).toBe(false);
        expect(readFileSync(join(h, "from-host"), "utf8")).toBe("host data\n");
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test("a device node made in a bind cannot be opened (nodev)", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        const r = await box(root, ["run", "-v", `${h}:/src`, "sh", "-c", "mknod /src/null c 1 3 && echo made; echo x > /src/null; echo open=$?"]);
        expect(r.stdout).toBe("made\nopen=1\n");
        expect(r.stderr).toMatch(/Permission denied/);
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test("-v makes a missing host directory; --mount type=bind refuses it; a file binds onto a file", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        const missing = join(h, "not", "yet");
        expect((await box(root, ["run", "-v", `${missing}:/m`, "touch", "/m/x"])).code).toBe(0);
        expect(statSync(missing).isDirectory()).toBe(true);
        expect(existsSync(join(missing, "x"))).toBe(true);
        const refused = await box(root, ["run", "--mount", `type=bind,source=${join(h, "nope")},target=/m`, "true"]);
        expect(refused).toMatchObject({ code: 125, stdout: "", stderr: `box: invalid mount config for type "bind": bind source path does not exist: ${join(h, "nope")}\n` });
        const file = await box(root, ["run", "-v", `${join(h, "from-host")}:/etc/motd:ro`, "cat", "/etc/motd"]);
        expect(file).toMatchObject({ code: 0, stdout: "host data\n" });
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test("a target that is a symlink out of the root is refused; bad specs are one sentence and 125", () =>
    withRoot(async (root) => {
      const h = hostDir();
      const rootfs = tempDir("box-rootfs-");
      try {
        // A rootfs of its own, whose /target leads to the host's h: box must not mount there.
        const made = await box(root, ["run", "-v", `${rootfs}:/out`, "sh", "-c", "cp -a /bin /lib /etc /out/"]);
        expect(made.code).toBe(0);
        mkdirSync(join(rootfs, "proc"));
        // A link to the host's path means that path inside the root, which is not there: refused.
        symlinkSync(h, join(rootfs, "target"));
        const r = await box(root, ["run", "--rootfs", rootfs, "-v", `${h}:/target`, "/bin/true"]);
        expect(r).toMatchObject({ code: 125, stdout: "", stderr: "box: cannot use /target in the container: it exists and is not a directory\n" });
        // A link to a directory that is inside: still never mounted on.
        symlinkSync("/etc", join(rootfs, "inside"));
        const inside = await box(root, ["run", "--rootfs", rootfs, "-v", `${h}:/inside`, "/bin/true"]);
        expect(inside).toMatchObject({ code: 125, stdout: "", stderr: "box: refusing to mount on /inside in the container: it is a symbolic link or a special file\n" });
        expect(lstatSync(join(rootfs, "target")).isSymbolicLink()).toBe(true);
        expect(existsSync(join(rootfs, "etc/from-host"))).toBe(false);
        for (const [args, message] of [
          [["-v", "./rel:/x"], 'invalid volume name "./rel": use [a-zA-Z0-9][a-zA-Z0-9_.-] (to bind a host directory, give an absolute path)'],
          [["-v", "/a:rel"], 'invalid mount "/a:rel": the target "rel" must be an absolute path'],
          [["--mount", "type=bind,source=/tmp,target=/x,colour=red"], 'invalid --mount "type=bind,source=/tmp,target=/x,colour=red": unexpected key "colour"'],
          [["-v", "/tmp:/x:rw,bogus"], 'invalid mode "rw,bogus" in "/tmp:/x:rw,bogus"'],
          [["--tmpfs", "/t:dev"], 'invalid --tmpfs "/t:dev": box mounts every tmpfs nodev (a device node made in it could open a host disk)'],
          [["-v", "/tmp:/x", "--tmpfs", "/x"], "duplicate mount point: /x"],
          [["--shm-size", "lots"], 'invalid --shm-size "lots": give a size such as 64m or 1g'],
        ] as Array<[string[], string]>) {
          expect(await box(root, ["run", ...args, "true"]), args.join(" ")).toMatchObject({ code: 125, stdout: "", stderr: `box: ${message}\n` });
        }
      } finally {
        rmSync(h, { recursive: true, force: true });
        rmSync(rootfs, { recursive: true, force: true });
      }
    }));
});

describe("tmpfs, read-only root, /dev/shm", () => {
  test("--tmpfs and --mount type=tmpfs: docker's flags, size, mode; gone with the container", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--tmpfs", "/run:size=1m,mode=700", "--mount", "type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1770", "--tmpfs", "/x:exec", "sh", "-c",
        "grep -E ' /(run|scratch|x) ' /proc/mounts | cut -d' ' -f2,4; stat -c %a /scratch; echo data > /run/f && cat /run/f"]);
      // -v, then --mount, then --tmpfs, shallowest first.
      expect(r.stdout).toBe("/scratch rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770\n/run rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700\n/x rw,nosuid,nodev,relatime\n1770\ndata\n");
    }));

  test("--read-only: the root refuses writes; /tmp too unless --tmpfs /tmp; /dev/shm and volumes stay writable", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        const r = await box(root, ["run", "--read-only", "-v", `${h}:/data`, "-w", "/work", "sh", "-c",
          "touch /x; echo root=$?; touch /tmp/x; echo tmp=$?; touch /dev/shm/x; echo shm=$?; touch /data/x; echo data=$?; mount -o remount,rw /; echo remount=$?"]);
        expect(r.stdout).toMatch(/^root=1\ntmp=1\nshm=0\ndata=0\nremount=[1-9]\d*\n$/);
        const tmp = await box(root, ["run", "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run", "sh", "-c", "touch /tmp/x /run/y && echo ok"]);
        expect(tmp.stdout).toBe("ok\n");
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test("--shm-size sizes /dev/shm; a bind over /dev/shm replaces it", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--shm-size", "8m", "sh", "-c", "grep ' /dev/shm ' /proc/mounts | cut -d' ' -f4"]);
      expect(r.stdout).toBe("rw,nosuid,nodev,noexec,relatime,size=8192k\n");
      const h = hostDir();
      try {
        const b = await box(root, ["run", "-v", `${h}:/dev/shm`, "sh", "-c", "cat /dev/shm/from-host; grep -c ' /dev/shm ' /proc/mounts"]);
        expect(b.stdout).toBe("host data\n1\n");
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));

  test("inspect shows the mounts in docker's shape", () =>
    withRoot(async (root) => {
      const h = hostDir();
      try {
        expect((await box(root, ["run", "--name", "m", "--read-only", "-v", `${h}:/src:ro`, "-v", "named:/data", "--tmpfs", "/run", "true"])).code).toBe(0);
        const [doc] = JSON.parse((await box(root, ["inspect", "m"])).stdout);
        expect(doc.Mounts).toEqual([
          { Type: "bind", Source: h, Destination: "/src", Mode: "ro", RW: false, Propagation: "rprivate" },
          { Type: "volume", Name: "named", Source: join(root, "volumes/named/_data"), Destination: "/data", Driver: "local", Mode: "", RW: true, Propagation: "" },
          { Type: "tmpfs", Source: "", Destination: "/run", Mode: "", RW: true, Propagation: "" },
        ]);
        expect(doc.HostConfig.ReadonlyRootfs).toBe(true);
        expect((await box(root, ["rm", "m"])).code).toBe(0);
      } finally {
        rmSync(h, { recursive: true, force: true });
      }
    }));
});
