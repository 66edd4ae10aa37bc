/**
 * config.json read strictly (src/oci/config.ts), mount options (mounts.ts) and device rules
 * (devices.ts), without root: what each accepts, and the sentence for what it refuses.
 */
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/oci/config";
import { deviceRules, ruleText } from "../../src/oci/devices";
import { MS, mountOptions } from "../../src/oci/mounts";
import { checkSysctl } from "../../src/oci/plan";

const base = () => ({ ociVersion: "1.1.0", process: { user: { uid: 0, gid: 0 }, args: ["true"], cwd: "/" }, root: { path: "rootfs" } });
const parse = (c: object) => parseConfig(JSON.stringify(c));
const refusal = (c: object) => {
  try {
    parse(c);
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
};

describe("config.json, read strictly", () => {
  test("64-bit values stay whole (rlimits of 2^64-1, seccomp masks)", () => {
    const text = JSON.stringify(base()).replace('"cwd":"/"', '"cwd":"/","rlimits":[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}]');
    expect(parseConfig(text).config.process!.rlimits![0]!.hard).toBe(18446744073709551615n);
  });

  test("unknown fields: passed over with a note at the top level, refused by name inside a section", () => {
    expect(parse({ ...base(), vendorData: 1 }).ignored).toEqual(["vendorData"]);
    expect(refusal({ ...base(), linux: { newThing: true } })).toBe("config.json: linux.newThing is not supported by box: box does not know this field");
    expect(refusal({ ...base(), process: { ...base().process, user: { uid: 0, gid: 0, username: "x" } } })).toBe("config.json: process.user.username is not supported by box: it is Windows' field");
  });

  test("fields of the spec box does not do are refused with the reason, unless empty", () => {
    expect(refusal({ ...base(), linux: { personality: { domain: "LINUX32" } } })).toBe("config.json: linux.personality is not supported by box: box does not set an execution domain");
    expect(refusal({ ...base(), linux: { uidMappings: [] } })).toBe("accepted");
    expect(refusal({ ...base(), windows: { layerFolders: [] } })).toBe("config.json: windows is not supported by box: box runs Linux containers");
    expect(refusal({ ...base(), process: { ...base().process, scheduler: { policy: "SCHED_FIFO" } } })).toContain("process.scheduler is not supported by box");
  });

  test("types and ranges are checked, with the field's path", () => {
    expect(refusal({ ...base(), process: { ...base().process, user: { uid: -1, gid: 0 } } })).toBe("config.json: process.user.uid is out of range (0 to 4294967295)");
    expect(refusal({ ...base(), process: { ...base().process, cwd: "relative" } })).toBe('config.json: process.cwd is "relative", not an absolute path');
    expect(refusal({ ...base(), process: { ...base().process, args: [] } })).toBe("config.json: process.args is empty: there is no command to run");
    expect(refusal({ ...base(), linux: { namespaces: [{ type: "user" }] } })).toContain('linux.namespaces[0].type is "user"');
    expect(refusal({ ...base(), linux: { resources: { devices: [{ allow: true, access: "rwx" }] } } })).toContain('linux.resources.devices[0].access is "rwx"');
    expect(refusal({ ...base(), ociVersion: "0.9" })).toContain("box reads versions 1.x of the runtime spec");
    expect(refusal({ ...base(), linux: { seccomp: { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"] } } })).toContain("linux.seccomp.flags[0] is SECCOMP_FILTER_FLAG_LOG: box installs its filter without seccomp(2) flags");
    expect(refusal({ ...base(), linux: { seccomp: { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_TSYNC"] } } })).toBe("accepted");
    expect(refusal({ ...base(), root: undefined, hooks: { prestart: [{ path: "hook" }] } })).toBe('config.json: hooks.prestart[0].path is "hook", not an absolute path');
  });
});

describe("mount options, device rules, sysctls", () => {
  test("flags, their opposites, bind and propagation, the rest as data", () => {
    const o = mountOptions(["ro", "nosuid", "nodev", "rw", "rbind", "rslave", "size=1m", "mode=755"], "mounts[0]");
    expect(o).toEqual({ copyup: false, flags: MS.nosuid | MS.nodev, propagation: [MS.slave | MS.rec], bind: true, recursive: true, data: "size=1m,mode=755" });
    expect(mountOptions(["nosuid", "tmpcopyup"], "mounts[3]").copyup).toBe(true);
    expect(() => mountOptions(["rro"], "mounts[1]")).toThrow("the option rro is not supported by box: box does not set recursive mount attributes");
    expect(() => mountOptions(["a,b"], "mounts[2]")).toThrow("holds a comma");
  });

  test("the device controller: deny all, the config's rules, the defaults, linux.devices", () => {
    const rules = deviceRules({ ociVersion: "1.1.0", linux: { resources: { devices: [{ allow: true, type: "c", major: 10, minor: 200, access: "rw" }] }, devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }] } });
    const text = rules.map((r) => `${r.allow ? "allow" : "deny"} ${ruleText(r)}`);
    expect(text[0]).toBe("deny a");
    expect(text[1]).toBe("allow c 10:200 rw");
    expect(text).toContain("allow c 1:3 rwm");
    expect(text).toContain("allow c 136:* rwm");
    expect(text.at(-1)).toBe("allow c 10:229 rwm");
  });

  test("sysctls: only namespaced ones, in a namespace of the container's own", () => {
    expect(() => checkSysctl("net.ipv4.ip_forward", new Set(["network"]))).not.toThrow();
    expect(() => checkSysctl("net.ipv4.ip_forward", new Set(["ipc"]))).toThrow("needs a network namespace of the container's own");
    expect(() => checkSysctl("kernel.msgmax", new Set(["ipc"]))).not.toThrow();
    expect(() => checkSysctl("vm.swappiness", new Set(["ipc", "network", "uts"]))).toThrow("is not namespaced: setting it would change the host");
  });
});
