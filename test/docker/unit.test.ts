// The pieces of box's docker interface that need no root: Go templates, listings, the flags'
// small languages, generated names, the attach protocol's framing and detach keys.
import { describe, expect, test } from "bun:test";
import { formatDocument, formatListing, parseFilters, tableText } from "../../src/cli/format";
import { parseAddHost, parseDevice, parseEnvFile, parseLabels, parseNamespaceMode, parseRestart, parseSysctl, parseUlimit } from "../../src/cli/run-flags";
import { compileTemplate, goMap } from "../../src/cli/template";
import { DetachWatch, frame, hello, parseDetachKeys, ServerReader, winsizeFrame } from "../../src/container/attach";
import { randomName } from "../../src/container/names";
import { humanDuration as duration } from "../../src/human";
import { humanSize } from "../../src/commands/container-rows";
import { withDns, withExtraHosts } from "../../src/container/etc";
import type { RunRequest } from "../../src/spec/request";

const doc = { Id: "abc", Name: "/web", State: { Pid: 42, Running: true }, Config: { Labels: goMap({ app: "x" }), Env: ["A=1", "B=2"] }, Mounts: [] as unknown[] };

describe("Go templates (docker's --format)", () => {
  test("fields, nested fields, json, index, functions and pipes", () => {
    const t = (s: string) => compileTemplate(s).render(doc);
    expect(t("{{.Id}} {{.State.Pid}}")).toBe("abc 42");
    expect(t("{{json .State}}")).toBe('{"Pid":42,"Running":true}');
    expect(t('{{index .Config.Labels "app"}}|{{.Config.Labels.nope}}')).toBe("x|<no value>");
    expect(t("{{.Name | upper}} {{join .Config.Env \",\"}} {{len .Config.Env}}")).toBe("/WEB A=1,B=2 2");
    expect(t('{{printf "%s-%d" .Id .State.Pid}}')).toBe("abc-42");
    expect(t("{{.Config.Labels}} {{.Config.Env}}")).toBe("map[app:x] [A=1 B=2]");
  });

  test("range, if/else, and {{- -}} trimming", () => {
    const t = (s: string) => compileTemplate(s).render(doc);
    expect(t("{{range .Config.Env}}[{{.}}]{{end}}")).toBe("[A=1][B=2]");
    expect(t("{{range .Mounts}}x{{else}}none{{end}}")).toBe("none");
    expect(t("{{if .State.Running}}up{{else}}down{{end}}")).toBe("up");
    expect(t("a  {{- .Id -}}  b")).toBe("aabcb");
  });

  test("errors are one sentence naming the template", () => {
    for (const [tpl, why] of [
      ["{{.Nope}}", "the field .Nope does not exist"],
      ["{{.Id", "an action is not closed"],
      ["{{range .Mounts}}", "has no {{end}}"],
      ["{{frobnicate .}}", 'function "frobnicate" not defined'],
      ["{{end}}", "{{end}} without"],
    ]) {
      expect(() => compileTemplate(tpl!).render(doc)).toThrow(why!);
      expect(() => compileTemplate(tpl!).render(doc)).toThrow(`invalid --format "${tpl}"`);
    }
  });
});

describe("listings", () => {
  const rows = [{ ID: "aaaaaaaaaaaa", Names: "web", State: "running" }, { ID: "bbbbbbbbbbbb", Names: "db", State: "exited" }];
  const listing = { headers: { ID: "CONTAINER ID", Names: "NAMES", State: "STATE" }, table: "{{.ID}}\t{{.Names}}" };

  test("docker's tabwriter: widest cell plus 3, at least 10, the last column not padded", () => {
    expect(tableText([["A", "B"], ["xx", "y"]])).toBe("A         B\nxx        y\n");
    expect(tableText([["CONTAINER ID", "IMAGE"]])).toBe("CONTAINER ID   IMAGE\n");
  });

  test("table, table TEMPLATE (docker's headers), json (one object per line), a template per row", () => {
    expect(formatListing(listing, rows, undefined)).toBe("CONTAINER ID   NAMES\naaaaaaaaaaaa   web\nbbbbbbbbbbbb   db\n");
    expect(formatListing(listing, rows, "table {{.Names}}\\t{{.State}}")).toBe("NAMES     STATE\nweb       running\ndb        exited\n");
    expect(formatListing(listing, rows, "json").split("\n").filter(Boolean).map((l) => JSON.parse(l))).toEqual(rows);
    expect(formatListing(listing, rows, "{{.Names}}")).toBe("web\ndb\n");
    expect(formatListing(listing, [], "{{.Names}}")).toBe("");
    expect(formatDocument("{{.Id}}", doc)).toBe("abc\n");
  });

  test("--filter: key=value, repeatable, known keys only", () => {
    expect([...parseFilters(["name=a", "name=b", "status=running"], ["name", "status"])]).toEqual([["name", ["a", "b"]], ["status", ["running"]]]);
    expect(() => parseFilters(["nope=1"], ["name"])).toThrow("invalid filter 'nope'");
    expect(() => parseFilters(["name"], ["name"])).toThrow('bad format of filter "name"');
  });

  test("docker's durations and sizes", () => {
    expect([0, 1000, 5000, 60_000, 150_000, 3_600_000, 7_200_000, 3 * 86_400_000].map(duration)).toEqual([
      "Less than a second", "1 second", "5 seconds", "About a minute", "2 minutes", "About an hour", "2 hours", "3 days",
    ]);
    expect([0, 12, 1234, 8_090_705, 1e9].map(humanSize)).toEqual(["0B", "12B", "1.23kB", "8.09MB", "1GB"]);
  });
});

describe("run's flags", () => {
  test("--env-file: KEY=VALUE lines, comments and blanks skipped, KEY alone kept for the host's value", () => {
    expect(parseEnvFile("f", "# c\nA=1\n\n  B=x y=z\nC\r\n")).toEqual(["A=1", "B=x y=z", "C"]);
    expect(() => parseEnvFile("f", "=1\n")).toThrow("invalid --env-file f: line 1 is not KEY=VALUE");
  });

  test("--add-host, --ulimit, --restart, --label, --pid/--ipc/--uts", () => {
    expect(parseAddHost("db:10.0.0.5")).toEqual({ host: "db", ip: "10.0.0.5" });
    expect(parseAddHost("gw=host-gateway")).toEqual({ host: "gw", ip: "host-gateway" });
    expect(parseAddHost("v6:[::1]")).toEqual({ host: "v6", ip: "::1" });
    expect(() => parseAddHost("db:999.1.1.1")).toThrow("invalid --add-host");
    expect(parseUlimit("nofile=1024:2048")).toEqual({ name: "nofile", soft: 1024, hard: 2048 });
    expect(parseUlimit("core=-1")).toEqual({ name: "core", soft: -1, hard: -1 });
    expect(() => parseUlimit("nofile=10:5")).toThrow("the soft limit is above the hard one");
    expect(() => parseUlimit("bogus=1")).toThrow("unknown limit bogus");
    expect(parseRestart("on-failure:3")).toEqual({ name: "on-failure", maximumRetryCount: 3 });
    expect(parseRestart("unless-stopped")).toEqual({ name: "unless-stopped", maximumRetryCount: 0 });
    expect(() => parseRestart("always:3")).toThrow("invalid --restart");
    expect(parseLabels(["a=1", "b", "c=x=y"])).toEqual({ a: "1", b: "", c: "x=y" });
    expect([parseNamespaceMode("pid", "host"), parseNamespaceMode("ipc", "private"), parseNamespaceMode("uts", undefined)]).toEqual([true, false, false]);
    expect(() => parseNamespaceMode("pid", "container:x")).toThrow("invalid --pid");
  });

  test("--sysctl: only namespaced ones, and not with the host's namespace they live in", () => {
    expect(parseSysctl("net.ipv4.ip_unprivileged_port_start=0", "none", false)).toEqual(["net.ipv4.ip_unprivileged_port_start", "0"]);
    expect(parseSysctl("kernel.shmmax=65536", "bridge", false)).toEqual(["kernel.shmmax", "65536"]);
    expect(parseSysctl("fs.mqueue.msg_max=20", "bridge", false)).toEqual(["fs.mqueue.msg_max", "20"]);
    expect(() => parseSysctl("kernel.hostname=x", "none", false)).toThrow("--sysctl kernel.hostname is not allowed");
    expect(() => parseSysctl("vm.swappiness=1", "none", false)).toThrow("is not allowed");
    expect(() => parseSysctl("net.ipv4.ip_forward=1", "host", false)).toThrow("cannot go with --network host");
    expect(() => parseSysctl("kernel.shmmax=1", "none", true)).toThrow("cannot go with --ipc host");
  });

  test("--device: a character device by its numbers, directly in /dev; block devices refused", () => {
    const char = () => ({ isChar: true, isBlock: false, rdev: (10 << 8) | 229 });
    expect(parseDevice("/dev/fuse", char)).toEqual({ host: "/dev/fuse", container: "/dev/fuse", major: 10, minor: 229, permissions: "rwm" });
    expect(parseDevice("/dev/fuse:/dev/f2:rw", char)).toMatchObject({ container: "/dev/f2", permissions: "rw" });
    expect(() => parseDevice("/dev/fuse:/dev/net/x", char)).toThrow("directly in /dev");
    expect(() => parseDevice("/dev/fuse::r", char)).toThrow("give rw or rwm");
    expect(() => parseDevice("/dev/fuse:r", char)).toThrow("give rw or rwm");
    expect(parseDevice("/dev/fuse:rw", char)).toMatchObject({ container: "/dev/fuse", permissions: "rw" });
    expect(() => parseDevice("/dev/loop0", () => ({ isChar: false, isBlock: true, rdev: 7 << 8 }))).toThrow("is a block device: box mounts every writable filesystem nodev");
    expect(() => parseDevice("/dev/nope", () => undefined)).toThrow("/dev/nope does not exist");
  });

  test("/etc/hosts and resolv.conf: --add-host lines, --dns servers replacing the host's", () => {
    const req = { extraHosts: [{ host: "db", ip: "10.0.0.5" }, { host: "gw", ip: "host-gateway" }], dns: ["9.9.9.9"], dnsSearch: ["example.org"], dnsOptions: ["ndots:2"] } as unknown as RunRequest;
    expect(withExtraHosts("127.0.0.1\tlocalhost\n", req, "10.88.0.1")).toBe("127.0.0.1\tlocalhost\n10.0.0.5\tdb\n10.88.0.1\tgw\n");
    expect(() => withExtraHosts("", req, undefined)).toThrow("host-gateway needs --network bridge");
    expect(withDns("search lan\nnameserver 1.1.1.1\noptions rotate\n", req)).toBe("search example.org\nnameserver 9.9.9.9\noptions ndots:2\n");
  });

  test("generated names: adjective_surname", () => {
    for (let i = 0; i < 50; i++) expect(randomName()).toMatch(/^[a-z]+_[a-z]+$/);
  });
});

describe("the attach protocol, client side", () => {
  test("hello, frames, window size", () => {
    expect(hello(true, 24, 80)).toBe("BOXATTACH 1 stdin=1 rows=24 cols=80\n");
    expect([...frame("i", new TextEncoder().encode("ab"))]).toEqual([0x69, 0, 0, 0, 2, 0x61, 0x62]);
    expect([...winsizeFrame(40, 120)]).toEqual([0x77, 0, 0, 0, 4, 0, 40, 0, 120]);
  });

  test("the supervisor's answers, in pieces", () => {
    const r = new ServerReader();
    expect(r.push(new TextEncoder().encode("OK tt"))).toEqual([]);
    const out = Uint8Array.from([0x6f, 0, 0, 0, 2, 0x68, 0x69, 0x78, 0, 0, 0, 4, 0, 0, 0]);
    expect(r.push(Uint8Array.from([...new TextEncoder().encode("y=1\n"), ...out]))).toEqual([{ kind: "hello", tty: true }, { kind: "out", data: Uint8Array.from([0x68, 0x69]) }]);
    expect(r.push(Uint8Array.from([3]))).toEqual([{ kind: "exit", status: 3 }]);
    expect(new ServerReader().push(new TextEncoder().encode("ERR no stdin\n"))).toEqual([{ kind: "error", message: "no stdin" }]);
    expect(() => new ServerReader().push(new TextEncoder().encode("HTTP/1.1 200\n"))).toThrow("something else than its protocol");
  });

  test("detach keys: Ctrl-P Ctrl-Q by default, held back until clear, --detach-keys", () => {
    expect(parseDetachKeys("ctrl-p,ctrl-q")).toEqual([16, 17]);
    expect(parseDetachKeys("ctrl-a,x")).toEqual([1, 120]);
    expect(() => parseDetachKeys("ctrl-")).toThrow("invalid --detach-keys");
    const w = new DetachWatch([16, 17]);
    expect(w.feed(Uint8Array.from([97, 16]))).toEqual({ send: Uint8Array.from([97]), detach: false });
    expect(w.feed(Uint8Array.from([98]))).toEqual({ send: Uint8Array.from([16, 98]), detach: false });
    expect(w.feed(Uint8Array.from([16, 17, 99]))).toEqual({ send: Uint8Array.from([]), detach: true });
  });
});
