/**
 * What the TypeScript side means by a plan, as the text `box-helper --check` prints for it
 * (helper/plan_print.c). Numbers are decoded with TypeScript's own tables (plan.ts's mount flags,
 * capabilities.ts's capability numbers, filter.ts's program), while the helper decodes them with
 * the kernel's headers: a number that means one thing here and another there shows as a
 * difference in names. Strings go through the same byte encoding as the plan (encodeBytes), so a
 * byte changed on the way shows too.
 */
import { CAPABILITIES } from "../../src/spec/capabilities";
import { encodeBytes, RLIMITS, type PlanRecord } from "../../src/spec/plan";
import { evaluate, type Instruction } from "../../src/spec/seccomp/filter";
import { MOUNT_FLAG_NAMES, mknodLine, ociDefault, ociLines } from "./expected-oci";

/** A string as the helper prints it: bytes 0x21..0x7e but \ and ", the rest as \xNN; "" when empty. */
export function token(s: string | undefined): string {
  const bytes = encodeBytes(s ?? "");
  if (bytes.length === 0) return '""';
  let out = "";
  for (const c of bytes) out += c > 0x20 && c < 0x7f && c !== 0x5c && c !== 0x22 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  return out;
}

const tokens = (v: readonly string[]) => v.map((s) => " " + token(s)).join("");

function bitNames(mask: bigint, table: Readonly<Record<string, number | bigint>>): string {
  const names: string[] = [];
  for (let bit = 0n; bit < 64n; bit++) {
    if (!((mask >> bit) & 1n)) continue;
    const name = Object.entries(table).find(([, v]) => BigInt(v) === 1n << bit)?.[0];
    if (name === undefined) throw new Error(`bit ${bit} has no name on the TypeScript side`);
    names.push(name);
  }
  return names.length ? names.join(",") : "none";
}

const flags = (decimal: string) => bitNames(BigInt(decimal), MOUNT_FLAG_NAMES);
const CAPABILITY_BITS = Object.fromEntries(Object.entries(CAPABILITIES).map(([name, n]) => [name, 1n << BigInt(n)]));
const caps = (hex: string) => bitNames(BigInt("0x" + hex), CAPABILITY_BITS);
const mode = (octal: string) => parseInt(octal, 8).toString(8).padStart(4, "0");

/** The program's default action: what it returns for a call it does not name. */
function seccomp(hex: string): string {
  const buf = Buffer.from(hex, "hex");
  const program: Instruction[] = [];
  for (let i = 0; i < buf.length; i += 8) program.push({ code: buf.readUInt16LE(i), jt: buf[i + 2]!, jf: buf[i + 3]!, k: buf.readUInt32LE(i + 4) });
  let action: string;
  try {
    action = evaluate(program, { nr: 0x3fff });
  } catch {
    action = ociDefault(program); // an OCI profile's program (src/spec/seccomp/oci.ts)
  }
  return `seccomp instructions=${program.length} default=${action === "allow" ? "allow" : action.replace("errno ", "errno:")}`;
}

function mountLine(step: string, [source, target, fstype, flagsField, data]: string[]): string {
  return `${step} source=${token(source)} target=${token(target)} type=${token(fstype)} flags=${flags(flagsField!)} data=${token(data)}`;
}

const RLIMIT_NAMES = Object.fromEntries(Object.entries(RLIMITS).map(([name, n]) => [n, name]));

const NAMESPACE_ORDER = ["mount", "uts", "ipc", "net", "pid"];

export function expectedCheck(records: readonly PlanRecord[]): string {
  const all = (key: string) => records.filter((r) => r[0] === key).map((r) => r.slice(1));
  const one = (key: string) => all(key)[0];
  const mode_ = one("delete_link") ? "delete-link" : one("join") ? "exec" : one("attach") ? "attach" : "run";
  const out: string[] = [`plan version=2 mode=${mode_}`];
  const trace = one("trace");
  if (trace) out.push(`trace fd=${trace[0]}`);
  if (mode_ === "delete-link") out.push(`delete-link ${token(one("delete_link")![0])}`);
  const detach = one("detach");
  if (detach) {
    const [path, cap, m, format] = one("log")!;
    out.push(`detach id=${token(detach[0])}`, `log path=${token(path)} cap=${cap} mode=${mode(m!)} format=${format}`);
  }
  const hold = one("hold");
  if (hold) out.push(`hold fifo=${token(hold[0])}`);
  const consoleRecord = one("console");
  if (consoleRecord) out.push(`console socket=${token(consoleRecord[0])}`);
  const keys = (hex: string) => (hex ? hex : "none");
  const attached = one("attached");
  if (attached) out.push(`attached keys=${keys(attached[0]!)} stdin=${one("stdin")![0] === "1" ? "on" : "off"} sig-proxy=on`);
  const attach = one("attach");
  if (attach) out.push(`attach socket=${token(attach[0])} keys=${keys(attach[1]!)} stdin=${attach[2] === "1" ? "on" : "off"} sig-proxy=${attach[3] === "1" ? "on" : "off"}`);
  const restart = one("restart");
  if (restart) {
    const [policy, max, first, cap, reset, stopped] = restart;
    out.push(`restart policy=${policy} max=${max} backoff-ms=${first}..${cap} reset-after-ms=${reset} stopped-file=${token(stopped)}`);
  }
  const cgroups = [...all("cgroup").map(([f]) => `cgroup procs=${token(f)}`), ...all("cgroup_tasks").map(([f]) => `cgroup tasks=${token(f)} writes=0`)];
  const mac = (m: string | undefined) => (m ? ` mac=${m}` : "");
  if (mode_ === "run") {
    const ns = one("ns")!;
    out.push(`namespaces${NAMESPACE_ORDER.filter((n) => ns.includes(n)).map((n) => " " + n).join("")}${ns.includes("cgroup") ? " cgroup" : ""}`);
    out.push(...cgroups);
    const into = one("clone_into");
    if (into) out.push(`clone-into ${token(into[0])}`);
    const bridge = one("bridge");
    if (bridge) out.push(`bridge name=${token(bridge[0])} address=${bridge[1]}${mac(bridge[2])}`);
    for (const [path, value] of all("sysctl")) out.push(`sysctl path=${token(path)} value=${token(value)}`);
    const veth = one("veth");
    if (veth) {
      const [ifname, address, gateway] = one("ip")!;
      out.push(`veth host=${token(veth[0])} bridge=${token(veth[1])} container=${token(veth[2])}${mac(veth[3])}`);
      out.push(`address if=${token(ifname)} address=${address} gateway=${gateway}`);
    }
    out.push(`rootfs ${token(one("rootfs")![0])}`);
    const overlay = one("overlay");
    if (overlay) {
      const [flagsField, merged, upper, work, ...layers] = overlay;
      out.push(`overlay merged=${token(merged)} upper=${token(upper)} work=${token(work)} flags=${flags(flagsField!)} layers=${layers.length}`);
      for (const l of layers) out.push(`overlay-layer ${token(l)}`);
    }
    for (const m of all("host_mount")) out.push(mountLine("host-mount", m));
    for (const [key, ...f] of records) {
      if (key === "mkdir" || key === "file") out.push(`${key} ${token(f[0])} mode=${mode(f[1]!)}`);
      else if (key === "mount") out.push(mountLine("mount", f));
      else if (key === "mount_copyup") out.push(mountLine("mount-copyup", f));
      else if (key === "device") out.push(`device ${token(f[1])} host=${token(f[0])} char=${f[2]}:${f[3]}`);
      else if (key === "symlink") out.push(`symlink ${token(f[1])} target=${token(f[0])}`);
      else if (key === "mask" || key === "readonly") out.push(`${key} ${token(f[0])}`);
      else if (key === "sysctl_in") out.push(`sysctl-in /proc/sys/${token(f[0])} value=${token(f[1])}`);
      else if (key === "mknod") out.push(mknodLine(f));
    }
    const hostname = one("hostname");
    if (hostname) out.push(`hostname ${token(hostname[0])}`);
    if (one("loopback")) out.push("loopback up");
  }
  if (mode_ === "exec") {
    const [pid, start] = one("join")!;
    out.push(...cgroups, `join pid=${pid} start=${start}`);
  }
  if (mode_ === "run" || mode_ === "exec") {
    const [uid, gid, ...groups] = one("user")!;
    const [bounding, effective, permitted, inheritable, ambient] = one("caps")!;
    const hex = one("seccomp");
    out.push(
      `argv${tokens(one("argv")!)}`,
      `env${tokens(one("env")!)}`,
      `search-path ${token(one("path")![0])}`,
      `cwd ${token(one("cwd")![0])}`,
      `user uid=${uid} gid=${gid} groups=${groups.length ? groups.join(",") : "none"}`,
      `umask ${mode(one("umask")![0]!)}`,
      `capabilities bounding=${caps(bounding!)} effective=${caps(effective!)} permitted=${caps(permitted!)} inheritable=${caps(inheritable!)} ambient=${caps(ambient!)}`,
      `no-new-privs ${one("nonewprivs") ? "on" : "off"}`,
      hex ? seccomp(hex[0]!) : "seccomp off",
      `session-keyring ${one("keyring") ? "on" : "off"}`,
      `tty ${one("tty")![0] === "1" ? "on" : "off"}`,
      `stdin ${one("stdin")![0] === "1" ? "on" : "off"}`,
      ...all("rlimit").map(([n, soft, hard]) => `rlimit ${RLIMIT_NAMES[Number(n)]} soft=${soft} hard=${hard}`),
    );
  }
  if (mode_ === "run") {
    for (const key of ["pidfile", "exitfile"]) {
      const f = one(key);
      if (f) out.push(`${key} path=${token(f[0])} mode=${mode(f[1]!)}`);
    }
    for (const [file, killed, other] of all("oom")) out.push(`oom events=${token(file)} killed=${token(killed)} otherwise=${token(other)}`);
    for (const argv of all("cleanup_exec")) out.push(`cleanup-exec${tokens(argv)}`);
    const env = one("cleanup_env");
    if (env) out.push(`cleanup-env${tokens(env)}`);
    for (const [dir, tries, ms] of all("rmcgroup")) out.push(`rmcgroup dir=${token(dir)} tries=${tries} interval-ms=${ms}`);
    for (const [path] of all("cleanup")) out.push(`cleanup ${token(path)}`);
  }
  out.push(...ociLines(records));
  return out.join("\n") + "\n";
}
