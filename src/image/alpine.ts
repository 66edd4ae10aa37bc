/** The Alpine release compiled into dist/box, and the checksums the build verifies it against. */
export const EMBEDDED_ALPINE = {
  name: "alpine",
  version: "3.20.3",
  arch: "x86_64",
  file: "alpine-minirootfs-3.20.3-x86_64.tar.gz",
  url: "https://dl-cdn.alpinelinux.org/alpine/v3.20/releases/x86_64/alpine-minirootfs-3.20.3-x86_64.tar.gz",
  sha256: "d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c",
  sha512:
    "9d5405f61f8a6ebc02461ba75346fbf1a63a4eab8510a0158dd321cee0c4dafe28c2a3d2cb7c3d75e2a8130dae0c3c92382f5b6adeea309eafc97621c5bf6400",
  /** The sha256 of the uncompressed tar: the layer's diffID. */
  diffID: "sha256:1bccf10afce5c1ffe31381419930ad565c1436eaeb1ca680494b0663e0028419",
  /** Bytes of the uncompressed tar. */
  tarSize: 8089600,
  /** Bytes of the tarball. */
  size: 3490290,
  /** Bytes of file data in it: the size box images shows (test/e2e/pack.test.ts checks it). */
  dataSize: 7792915,
  /** Tags that name this release: what `alpine:TAG` resolves to without a network. */
  tags: ["latest", "3", "3.20", "3.20.3"],
} as const;
