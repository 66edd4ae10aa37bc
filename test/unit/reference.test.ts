import { describe, expect, test } from "bun:test";
import { parseRef, splitImageAndCommand } from "../../src/image/reference";

const dirs = new Set(["/srv/rootfs", "./rootfs"]);
const isDirectory = (p: string) => dirs.has(p);
const alpine = { kind: "image", ref: { name: "alpine", tag: "3.20.3" } } as const;
const image = (name: string, tag: string) => ({ kind: "image", ref: { name, tag } }) as const;

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
    expect(splitImageAndCommand(["alpine", "ls", "-la"], { isDirectory })).toEqual({ image: image("alpine", "latest"), command: ["ls", "-la"] });
    expect(splitImageAndCommand(["alpine:3.19"], { isDirectory })).toEqual({ image: image("alpine", "3.19"), command: [] });
    // A name in the store is an image; the same word unknown to the store is a command.
    expect(splitImageAndCommand(["debian:12", "bash"], { isDirectory, isStored: (n) => n === "debian" })).toEqual({ image: image("debian", "12"), command: ["bash"] });
    expect(splitImageAndCommand(["debian", "x"], { isDirectory, isStored: () => false })).toEqual({ image: alpine, command: ["debian", "x"] });
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
});
