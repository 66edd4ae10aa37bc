import { describe, expect, test } from "bun:test";
import { parseRef, splitImageAndCommand } from "../../src/image/reference";

const dirs = new Set(["/srv/rootfs", "./rootfs"]);
const isDirectory = (p: string) => dirs.has(p);
const alpine = { kind: "embedded", ref: { name: "alpine", tag: "3.20.3" } } as const;

describe("image or command", () => {
  test("image references", () => {
    expect(parseRef("alpine")).toEqual({ name: "alpine", tag: "latest" });
    expect(parseRef("alpine:3.20.3")).toEqual({ name: "alpine", tag: "3.20.3" });
    expect(parseRef("my-image.v2:edge")).toEqual({ name: "my-image.v2", tag: "edge" });
    expect(parseRef("Alpine")).toBeUndefined();
    expect(parseRef("/bin/sh")).toBeUndefined();
    expect(parseRef("a:")).toBeUndefined();
  });

  test("a known image name is the image; the rest is the command", () => {
    expect(splitImageAndCommand(["alpine", "ls", "-la"], { isDirectory })).toEqual({ image: alpine, command: ["ls", "-la"] });
    expect(splitImageAndCommand(["alpine:latest"], { isDirectory })).toEqual({ image: alpine, command: [] });
    expect(splitImageAndCommand(["alpine:3.20"], { isDirectory }).image).toEqual(alpine);
  });

  test("any other word is the command, in the default image", () => {
    expect(splitImageAndCommand(["sh"], { isDirectory })).toEqual({ image: alpine, command: ["sh"] });
    expect(splitImageAndCommand(["ubuntu", "x"], { isDirectory })).toEqual({ image: alpine, command: ["ubuntu", "x"] });
    expect(splitImageAndCommand([], { isDirectory })).toEqual({ image: alpine, command: [] });
  });

  test("a path with '/' to a directory is a rootfs; a path to anything else is a command", () => {
    expect(splitImageAndCommand(["/srv/rootfs", "sh"], { isDirectory })).toEqual({ image: { kind: "directory", path: "/srv/rootfs" }, command: ["sh"] });
    expect(splitImageAndCommand(["./rootfs"], { isDirectory }).image).toEqual({ kind: "directory", path: "./rootfs" });
    expect(splitImageAndCommand(["/bin/ls", "-l"], { isDirectory })).toEqual({ image: alpine, command: ["/bin/ls", "-l"] });
    // A directory name without a slash is still a command word.
    expect(splitImageAndCommand(["rootfs"], { isDirectory: () => true }).command).toEqual(["rootfs"]);
  });

  test("--rootfs and -- make every word the command", () => {
    expect(splitImageAndCommand(["alpine", "x"], { isDirectory, rootfs: "/r" })).toEqual({ image: { kind: "directory", path: "/r" }, command: ["alpine", "x"] });
    expect(splitImageAndCommand(["alpine"], { isDirectory, forcedCommand: true })).toEqual({ image: alpine, command: ["alpine"] });
  });

  test("an alpine tag that is not embedded is a clear error", () => {
    expect(() => splitImageAndCommand(["alpine:3.19", "sh"], { isDirectory })).toThrow("image alpine:3.19 is not available");
  });
});
