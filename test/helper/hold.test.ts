/**
 * The hold point (box create / box start, runc's exec.fifo): a detached container set up in full
 * waits just before its command's execve until someone opens the plan's FIFO for reading. The
 * caller returns, and the pidfile is written, once it waits.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeRoot } from "../e2e/harness";
import { exitStatus, plan, prepare, start, stop, supervisor, until, type Container } from "./run";

let current: Container | undefined;
afterEach(async () => {
  if (current) await stop(current, "SIGKILL").catch(() => {});
  if (current) removeRoot(current.dir);
  current = undefined;
});

async function held(args: string[]): Promise<{ c: Container; fifo: string; log: string }> {
  const c = (current = await prepare());
  const fifo = join(c.dir, "exec.fifo");
  const log = join(c.dir, "log");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const r = await start(plan(c, args, { detach: { id: "", log, logCap: 1 << 20, logFormat: "k8s-file" }, hold: fifo }));
  // Nothing printed (the id is empty), exit 0: the container is created and held.
  expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  return { c, fifo, log };
}

describe("helper: a container held before its command's execve", () => {
  test("held: set up, pidfile written, command not run; released by a reader of the FIFO, it runs", async () => {
    const { c, fifo, log } = await held(["sh", "-c", "touch /started; echo ran"]);
    expect(existsSync(c.pidFile)).toBe(true);
    const [sup, , init] = readFileSync(c.pidFile, "utf8").split(" ");
    expect(existsSync(`/proc/${sup}`) && existsSync(`/proc/${init}`)).toBe(true);
    await Bun.sleep(200);
    expect(existsSync(join(c.rootfs, "started"))).toBe(false);
    // box start: open for reading, read the byte the command writes before its execve.
    expect(readFileSync(fifo, "utf8")).toBe("0");
    expect(await until(() => existsSync(join(c.rootfs, "started")))).toBe(true);
    await stop(c);
    expect(readFileSync(log, "utf8")).toMatch(/^\S+ stdout F ran\n$/);
    expect(exitStatus(c)).toBe("0");
  });

  test("never released: a signal to the supervisor ends the held command, and everything goes", async () => {
    const { c } = await held(["sh", "-c", "touch /started"]);
    expect(supervisor(c)).toBeGreaterThan(0);
    await stop(c, "SIGTERM");
    expect(exitStatus(c)).toBe("143");
    expect(existsSync(join(c.rootfs, "started"))).toBe(false);
    expect(existsSync(c.pidFile)).toBe(false);
  });

  test("a command that cannot start once released: its status is recorded, its reason goes to the log", async () => {
    const { c, fifo, log } = await held(["nosuch"]);
    expect(readFileSync(fifo, "utf8")).toBe("0");
    await stop(c);
    expect(exitStatus(c)).toBe("127");
    expect(readFileSync(log, "utf8")).toMatch(/^\S+ stderr F nosuch: command not found in the container\n$/);
  });

  test("a hold path that is not a FIFO is refused before anything starts", async () => {
    const c = (current = await prepare());
    const r = await start(plan(c, ["true"], { detach: { id: "x", log: join(c.dir, "log"), logCap: 1 << 20 }, hold: join(c.dir, "hostname") }));
    expect(r).toEqual({ code: 125, stdout: "", stderr: `box: refusing the hold FIFO ${join(c.dir, "hostname")}: it is not a FIFO\n` });
  });
});
