import type { Spec } from "../spec/types";
import { anyObject, arr, bool, type Check, Invalid, obj, opt, pattern, str } from "../validate";

const specFields = obj<Spec>({
  ociVersion: str as Check<"1.0.2">,
  process: obj<Spec["process"]>({
    terminal: bool,
    stdin: bool,
    user: anyObject as unknown as Check<Spec["process"]["user"]>,
    args: arr(str),
    env: arr(str),
    cwd: pattern(/^\//, "an absolute path"),
    capabilities: obj<Spec["process"]["capabilities"]>({ bounding: arr(str), effective: arr(str), permitted: arr(str), inheritable: arr(str), ambient: arr(str) }),
    noNewPrivileges: bool,
  }),
  root: obj<Spec["root"]>({ path: str }),
  hostname: str,
  mounts: arr(anyObject) as unknown as Check<Spec["mounts"]>,
  linux: obj<Spec["linux"]>({ namespaces: arr(str) as Check<Spec["linux"]["namespaces"]>, seccomp: opt(pattern(/^([0-9a-f]{16})+$/, "a seccomp program")) } as never),
  box: obj<Spec["box"]>({ rootfs: anyObject } as never),
});

/** Checks the parts of a spec box acts on again (exec, start, inspect). */
export const checkSpec: Check<Spec> = (v, at) => {
  const spec = specFields(v, at);
  const u = spec.process.user as unknown as Record<string, unknown>;
  if (!Number.isSafeInteger(u.uid) || !Number.isSafeInteger(u.gid) || !Array.isArray(u.additionalGids)) throw new Invalid(`${at}.process.user is not a user`);
  return spec;
};

