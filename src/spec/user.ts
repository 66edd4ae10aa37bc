import { BoxError } from "../errors";

export interface User {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** Reads a file of the container's image (/etc/passwd, /etc/group), or undefined when it has none. */
export type ImageFileReader = (path: string) => string | undefined;

function colonFile(read: ImageFileReader, path: string): string[][] {
  return (read(path) ?? "").split("\n").filter(Boolean).map((l) => l.split(":"));
}

const NUM = /^\d+$/;

/**
 * -u UID[:GID] or NAME[:GROUP]. Names are looked up in the image's own /etc/passwd and /etc/group
 * (read inside the image's root, never the host's). A numeric uid without a passwd entry is fine,
 * as in docker; the gid then defaults to 0. The passwd entry gives HOME.
 */
export function resolveUser(spec: string | undefined, read: ImageFileReader): User {
  const passwd = colonFile(read, "/etc/passwd");
  const [u = "", g] = (spec ?? "0").split(":", 2);
  const entry = NUM.test(u) ? passwd.find((p) => p[2] === u) : passwd.find((p) => p[0] === u);
  if (!NUM.test(u) && !entry) throw new BoxError(`unknown user "${u}": it is not in the image's /etc/passwd`);
  const uid = NUM.test(u) ? Number(u) : Number(entry![2]);
  let gid = entry && NUM.test(entry[3] ?? "") ? Number(entry[3]) : 0;
  if (g !== undefined) {
    if (NUM.test(g)) gid = Number(g);
    else {
      const grp = colonFile(read, "/etc/group").find((x) => x[0] === g);
      if (!grp || !NUM.test(grp[2] ?? "")) throw new BoxError(`unknown group "${g}": it is not in the image's /etc/group`);
      gid = Number(grp[2]);
    }
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid) || uid > 0xfffffffe || gid > 0xfffffffe) {
    throw new BoxError(`invalid user "${spec}": ids must be below 4294967295`);
  }
  const home = entry?.[5];
  return { uid, gid, additionalGids: [], home: home && home.startsWith("/") ? home : uid === 0 ? "/root" : "/" };
}
