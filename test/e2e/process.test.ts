// The command: its argv, its stdio, its environment, its exit status and signals.
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { BOX, box, run, spawnBox, withRoot } from "./harness";

async function firstLine(proc: ReturnType<typeof spawnBox>): Promise<string> {
  const reader = proc.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return new TextDecoder().decode(value);
}

describe("box run: the command", () => {
  test("argv after the image is passed verbatim, flags and --help included", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "alpine", "printf", "%s|", "-la", "--help", "a b", "", "-e", "x=y", "--", "$HOME"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("-la|--help|a b||-e|x=y|--|$HOME|");
    }));

  test("argv and environment bytes that are not UTF-8 arrive unchanged", () =>
    withRoot(async (root) => {
      // A shell builds the bytes: Bun would encode a string argument as UTF-8.
      const script = `X="$(printf 'a\\377b')" exec ${BOX} --root ${root} run -e "Y=$(printf '\\300z')" -e X sh -c 'printf %s "$1" | od -An -tx1; printf %s "$X$Y" | od -An -tx1' sh "$(printf 'c\\377\\351d')"`;
      const r = await run(["sh", "-c", script]);
      expect(r.stderr).toBe("");
      expect(r.stdout.replace(/\s+/g, " ").trim()).toBe("63 ff e9 64 61 ff 62 c0 7a");
    }));

  test("`box run alpine ls -la /` keeps -la", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "alpine", "ls", "-la", "/"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^total \d+\n/);
      expect(r.stdout).toMatch(/\n(l|d)rwx.* bin( ->.*)?\n/);
    }));

  test("without an image the first word is the command; without a command /bin/sh runs", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "cat", "/etc/alpine-release"])).stdout).toBe("3.20.3\n");
      const sh = await box(root, ["run", "-i"], { stdin: "echo from-sh $0\n" });
      expect(sh.stdout).toBe("from-sh /bin/sh\n");
      // After `--` every word is the command, even one that names an image.
      const dd = await box(root, ["run", "--", "alpine"]);
      expect(dd.code).toBe(127);
      expect(dd.stderr).toBe("box: alpine: command not found in the container\n");
    }));

  test("image names with tags that the embedded Alpine answers to", () =>
    withRoot(async (root) => {
      for (const ref of ["alpine", "alpine:latest", "alpine:3.20", "alpine:3.20.3"]) {
        const r = await box(root, ["run", ref, "cat", "/etc/alpine-release"]);
        expect({ ref, out: r.stdout, code: r.code }).toEqual({ ref, out: "3.20.3\n", code: 0 });
      }
    }));

  test("stdout is byte-identical to the command's, and box writes nothing to it", () =>
    withRoot(async (root) => {
      const data = randomBytes(300_000);
      const r = await box(root, ["run", "-i", "cat"], { stdin: data });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(Buffer.from(r.out).equals(data)).toBe(true);
    }));

  test("without -i the command's stdin is /dev/null, with -i it is box's stdin", () =>
    withRoot(async (root) => {
      const without = await box(root, ["run", "sh", "-c", "readlink /proc/self/fd/0; cat"], { stdin: "secret\n" });
      expect(without.stdout).toBe("/dev/null\n");
      const withI = await box(root, ["run", "-i", "sh", "-c", "cat"], { stdin: "secret\n" });
      expect(withI.stdout).toBe("secret\n");
    }));

  test("stderr is passed through apart from stdout", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "sh", "-c", "echo out; echo err >&2"]);
      expect(r.stdout).toBe("out\n");
      expect(r.stderr).toBe("err\n");
    }));

  test("environment: PATH, HOSTNAME, HOME, then -e; -e KEY copies box's own; no TERM without -t", () =>
    withRoot(async (root) => {
      const r = await box(root, ["run", "--hostname", "h", "-e", "A=1", "-e", "PATH=/usr/bin:/bin", "-eB=two words", "-e", "FROM_HOST", "-e", "UNSET_HERE", "env"], {
        env: { FROM_HOST: "yes" },
      });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split("\n").sort()).toEqual(["A=1", "B=two words", "FROM_HOST=yes", "HOME=/root", "HOSTNAME=h", "PATH=/usr/bin:/bin"]);
    }));

  test("-w sets (and creates) the working directory; -u switches user by number or name", () =>
    withRoot(async (root) => {
      expect((await box(root, ["run", "-w", "/srv/app/data", "pwd"])).stdout).toBe("/srv/app/data\n");
      expect((await box(root, ["run", "-w", "/etc", "pwd"])).stdout).toBe("/etc\n");
      expect((await box(root, ["run", "-u", "1000:100", "id"])).stdout).toBe("uid=1000 gid=100(users) groups=100(users)\n".replace(" groups=100(users)", ""));
      expect((await box(root, ["run", "-u", "nobody", "sh", "-c", "id; echo $HOME"])).stdout).toBe("uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n/\n".replace(" groups=65534(nobody)", ""));
      expect((await box(root, ["run", "-u", "guest:users", "id", "-u"])).stdout).toBe("405\n");
    }));

  test("exit status: the command's own", () =>
    withRoot(async (root) => {
      for (const code of [0, 1, 7, 42, 255]) {
        expect((await box(root, ["run", "sh", "-c", `exit ${code}`])).code).toBe(code);
      }
    }));

  test("127 for a command not found, 126 for one that cannot be executed, each with one sentence", () =>
    withRoot(async (root) => {
      const nf = await box(root, ["run", "alpine", "no-such-command", "arg"]);
      expect(nf.code).toBe(127);
      expect(nf.stderr).toBe("box: no-such-command: command not found in the container\n");
      // A first word that is neither an image here nor a command of the default image is not
      // "command not found": box says what it is not (--pull never: no test reaches the internet).
      const neither = await box(root, ["run", "--pull", "never", "no-such-command", "arg"]);
      expect(neither.code).toBe(125);
      expect(neither.stderr).toBe("box: no-such-command is not an image here (box pull no-such-command) nor a command in alpine:3.20.3\n");
      const nfPath = await box(root, ["run", "/usr/bin/nothing"]);
      expect(nfPath.code).toBe(127);
      expect(nfPath.stderr).toBe("box: /usr/bin/nothing: command not found in the container\n");
      const ne = await box(root, ["run", "/etc/passwd"]);
      expect(ne.code).toBe(126);
      expect(ne.stderr).toBe("box: cannot execute /etc/passwd in the container: Permission denied\n");
      const dir = await box(root, ["run", "alpine", "/etc"]);
      expect(dir.code).toBe(126);
    }));

  test("the command is looked up in the container's PATH, not the host's", () =>
    withRoot(async (root) => {
      // bash exists on this host but not in Alpine.
      const r = await box(root, ["run", "alpine", "bash", "-c", "true"]);
      expect(r.code).toBe(127);
      expect((await box(root, ["run", "--pull", "never", "bash", "-c", "true"])).code).toBe(125);
      const p = await box(root, ["run", "-e", "PATH=/nowhere", "ls"]);
      expect(p.code).toBe(127);
    }));

  test("SIGTERM and SIGINT to box stop the command: 143 and 130", () =>
    withRoot(async (root) => {
      for (const [sig, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
        const proc = spawnBox(root, ["run", "sh", "-c", "echo ready; exec sleep 30"]);
        expect(await firstLine(proc)).toBe("ready\n");
        const t0 = Date.now();
        proc.kill(sig);
        expect(await proc.exited).toBe(code);
        expect(Date.now() - t0).toBeLessThan(5000);
      }
    }));

  test("a command that traps SIGTERM gets it and chooses its exit status", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "sh", "-c", "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.05; done"]);
      expect(await firstLine(proc)).toBe("ready\n");
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(5);
      const reader = proc.stdout.getReader();
      let rest = "";
      for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
      expect(rest).toBe("got-term\n");
    }));

  test("killing box with SIGKILL takes the container down with it", () =>
    withRoot(async (root) => {
      const proc = spawnBox(root, ["run", "sh", "-c", "echo ready; exec sleep 30"]);
      expect(await firstLine(proc)).toBe("ready\n");
      proc.kill("SIGKILL");
      expect(await proc.exited).toBe(137);
      // The next run removes what the killed one left (checked by withRoot's leak check).
      expect((await box(root, ["run", "true"])).code).toBe(0);
    }));

  test("zombies are reaped by PID 1", () =>
    withRoot(async (root) => {
      // The subshell's sleep is orphaned, reparented to PID 1, and must not stay a zombie.
      const r = await box(root, ["run", "sh", "-c", "(sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c '^Z' || true"]);
      expect(r.stdout.trim()).toBe("0");
    }));

  test("background processes die with the command", () =>
    withRoot(async (root) => {
      // A sleep with a length no other process uses, so the host can look for it afterwards.
      const marker = String(3000 + Math.floor(Math.random() * 5000));
      const r = await box(root, ["run", "sh", "-c", `sleep ${marker} & echo started $!`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^started \d+\n$/);
      const sleepers = () =>
        readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8") === `sleep\0${marker}\0`;
          } catch {
            return false;
          }
        });
      for (let i = 0; i < 50 && sleepers().length > 0; i++) await Bun.sleep(20);
      expect(sleepers()).toEqual([]);
    }));

  test("writes go to the container's layer: the image and the next container do not see them", () =>
    withRoot(async (root) => {
      const w = await box(root, ["run", "sh", "-c", "echo changed > /etc/motd; rm /bin/ls; touch /new-file"]);
      expect(w.code).toBe(0);
      const r = await box(root, ["run", "sh", "-c", "cat /etc/motd | head -1; ls /bin/ls; ls /new-file 2>&1"]);
      expect(r.stdout).not.toContain("changed");
      expect(r.stdout).toContain("/bin/ls\n");
      expect(r.stdout).toContain("No such file");
    }));
});

describe("box run: interrupted while preparing", () => {
  test("SIGINT or SIGTERM at any moment of a first run (image unpack included) leaves nothing behind", async () => {
    for (const [sig, delay] of [["SIGINT", 20], ["SIGTERM", 60], ["SIGINT", 100], ["SIGTERM", 150]] as const) {
      await withRoot(async (root) => {
        const proc = spawnBox(root, ["run", "sleep", "30"]);
        await Bun.sleep(delay);
        proc.kill(sig);
        expect(await proc.exited).toBe(sig === "SIGINT" ? 130 : 143);
      });
    }
  });
});
