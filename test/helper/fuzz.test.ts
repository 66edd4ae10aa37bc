/**
 * A bounded fuzz of the plan reader: random bytes, valid plans with bytes flipped, cut or inserted,
 * and plans whose records were dropped, repeated, swapped, renamed or given hostile fields. The
 * reader (`box-helper --check`) must either read the plan (exit 0) or refuse it cleanly: exit 125
 * and exactly one line on stderr. Never a crash (a signal), never a hang (killed after 2 s).
 *
 * The seed changes per run and is printed when a case fails (BOX_FUZZ_SEED=N repeats a run);
 * BOX_FUZZ_HELPER runs another build of the helper, for instance one compiled with
 * -fsanitize=undefined -fsanitize-trap=undefined, so undefined behaviour traps too.
 */
import { describe, expect, test } from "bun:test";
import { resolveCapabilities } from "../../src/spec/capabilities";
import { buildSpec, type SpecInput } from "../../src/spec/build";
import { attachRecords, encodePlan, execRecords, planRecords, type PlanRecord } from "../../src/spec/plan";
import { HELPER, raw } from "./helper";

const SEED = Number(process.env.BOX_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = 1500;
const helper = process.env.BOX_FUZZ_HELPER ?? HELPER;

/** xorshift32: small, fast, reproducible from the seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { int: (n: number) => next() % n, pick: <T>(a: readonly T[]): T => a[next() % a.length]!, bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 0xff)) };
}

function corpus(): PlanRecord[][] {
  const input: SpecInput = {
    process: { args: ["sh", "-c", "true"], env: ["A=1"], user: { uid: 1000, gid: 1000, additionalGids: [5] }, home: "/", hostname: "h", tty: true, stdin: true },
    security: { capabilities: resolveCapabilities([], [], false), noNewPrivileges: true, seccomp: true, systemPaths: true, privileged: false },
    network: "bridge",
    bridge: { bridge: "box0", gatewayCidr: "10.88.0.1/24", hostVeth: "vb1", addressCidr: "10.88.0.2/24", gateway: "10.88.0.1" },
    cgroup: { procs: ["/c/cgroup.procs"], cloneInto: "/c", dirs: ["/c"], mounts: [], oom: { file: "/c/memory.events", killed: "k", other: "o" } },
    rootfs: { kind: "bind", path: "/r" },
    etcFiles: { hostname: "/e/h", hosts: "/e/hosts", resolvConf: "/e/r" },
    cleanup: ["/x"],
    pidFile: "/run/p",
    exitFile: "/run/e",
    detach: { id: "i", log: "/l", logCap: 100, logFormat: "k8s-file" },
    hold: "/f",
    traceFd: 3,
    sysctls: [["/proc/sys/x", "1"]],
    cleanupExec: [["/bin/true"]],
    rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: -1 }],
    containerSysctls: { "net.ipv4.ip_unprivileged_port_start": "80" },
    restart: { name: "on-failure", maximumRetryCount: 3 },
    stoppedFile: "/s",
    attachSocket: "/run/c.attach",
    attached: { detachKeys: [16, 17] },
  };
  const spec = buildSpec(input);
  const layered = buildSpec({ ...input, rootfs: { kind: "overlay", lowers: ["/l/a", "/l/b"], upper: "/u", work: "/w", merged: "/m" }, cgroup: { ...input.cgroup!, cloneInto: undefined } });
  return [planRecords(spec), planRecords(layered), execRecords(spec, spec.process, 77, ["/c/cgroup.procs"], "9"), [["delete_link", "box0"]], attachRecords("/run/c.attach", { detachKeys: [16, 17], stdin: true, sigProxy: true })];
}

const HOSTILE = [
  "", "0", "1", "-1", "+1", " 1", "01", "0x10", "4294967295", "4294967294", "18446744073709551615", "18446744073709551616",
  "99999999999999999999999", "ffffffffffffffff", "FFFF", "777", "7777", "17777", "/", "//", "a", "\x01", "\xff", "%s%n%s",
  "x".repeat(5000), "/" + "a/".repeat(3000), "10.0.0.1/99", "256.1.1.1/8", "1.2.3.4", "1.2.3.4/", "/24", "raw", "k8s-file",
  "mount", "net", "cgroup", "time", "8000000000000000", "0".repeat(16), "00".repeat(8), "06000000" + "00000000",
];

type Mutation = (records: PlanRecord[], r: ReturnType<typeof rng>) => Uint8Array;

const mutations: Mutation[] = [
  // Record level: the encoding stays well-formed, the meaning does not.
  (recs, r) => {
    const out = recs.map((x) => [...x] as PlanRecord);
    const rec = out[r.int(out.length)]!;
    if (rec.length > 1) rec[1 + r.int(rec.length - 1)] = r.pick(HOSTILE);
    else rec.push(r.pick(HOSTILE));
    return encodePlan(out);
  },
  (recs, r) => encodePlan(recs.filter((_, i) => i !== r.int(recs.length))),
  (recs, r) => {
    const out = [...recs];
    out.splice(r.int(out.length), 0, out[r.int(out.length)]!);
    return encodePlan(out);
  },
  (recs, r) => {
    const out = [...recs];
    const a = r.int(out.length), b = r.int(out.length);
    [out[a], out[b]] = [out[b]!, out[a]!];
    return encodePlan(out);
  },
  (recs, r) => {
    // Another record's name over these fields: a type confusion the reader must catch.
    const out = recs.map((x) => [...x] as PlanRecord);
    out[r.int(out.length)]![0] = r.pick(recs)[0];
    return encodePlan(out);
  },
  (recs, r) => {
    const out = recs.map((x) => [...x] as PlanRecord);
    const rec = out[r.int(out.length)]!;
    for (let n = r.int(70); n > 0; n--) rec.push(r.pick(HOSTILE));
    return encodePlan(out);
  },
  // Byte level.
  (recs, r) => {
    const b = Buffer.from(encodePlan(recs));
    for (let n = 1 + r.int(8); n > 0; n--) b[r.int(b.length)] = r.int(256);
    return b;
  },
  (recs, r) => {
    const b = Buffer.from(encodePlan(recs));
    const cut = 4 + r.int(b.length - 4);
    return r.int(2) ? b.subarray(0, cut) : raw(b.subarray(4, cut));
  },
  (recs, r) => {
    const b = Buffer.from(encodePlan(recs)).subarray(4);
    const at = r.int(b.length);
    return raw(Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]));
  },
  (recs, r) => {
    const b = Buffer.from(encodePlan(recs));
    b.writeUInt32LE(r.int(4) === 0 ? r.int(2 ** 32) : Math.max(0, b.length - 4 + r.int(9) - 4), 0);
    return b;
  },
  (_, r) => (r.int(2) ? r.bytes(r.int(300)) : raw(Buffer.concat([Buffer.from("BOXPLAN\x002\x00"), r.bytes(r.int(300))]))),
];

describe("the plan reader under fuzzing", () => {
  test(`${CASES} random and mutated plans: read, or refused in one line with 125 (seed ${SEED})`, () => {
    const r = rng(SEED);
    const plans = corpus();
    let read = 0;
    for (let i = 0; i < CASES; i++) {
      const plan = r.pick(mutations)(r.pick(plans), r);
      const p = Bun.spawnSync([helper, "--check", "--plan-fd", "0"], { stdin: plan, timeout: 2000 });
      const stdout = p.stdout.toString(), stderr = p.stderr.toString();
      const refused = p.exitCode === 125 && /^box: [^\n]+\n$/.test(stderr) && stdout === "";
      const accepted = p.exitCode === 0 && stderr === "" && stdout.startsWith("plan version=2 mode=") && stdout.endsWith("\n");
      if (!refused && !accepted) {
        const at = `case ${i} of seed ${SEED} (BOX_FUZZ_SEED=${SEED}): plan ${Buffer.from(plan).toString("hex").slice(0, 400)}`;
        expect({ at, code: p.exitCode, signal: p.signalCode ?? null, stderr }).toEqual({ at, code: 125, signal: null, stderr: expect.stringMatching(/^box: [^\n]+\n$/) });
      }
      if (accepted) read++;
    }
    // Some mutations keep a plan valid (a record moved, a harmless field changed): both outcomes occur.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(CASES);
  }, 60_000);
});
