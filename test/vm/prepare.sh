#!/usr/bin/env bash
# Builds what the pure cgroup v2 / minimal host VM boots: Debian's kernel (cached), and an
# initramfs holding only busybox, the glibc libraries dist/box needs, dist/box, the overlay module
# and the proofs. Usage: prepare.sh OUTDIR  (writes OUTDIR/vmlinuz and OUTDIR/initramfs.gz)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
cache=${BOX_VM_CACHE:-$top/build/vm-cache}
mkdir -p "$out" "$cache"

# 1. Tools, from Debian's packages when missing.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. The kernel and its overlay module, from Debian's current 6.1 kernel package (cached).
if [ ! -f "$cache/vmlinuz" ] || [ ! -f "$cache/overlay.ko" ]; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  [ -n "$pkg" ] || { apt-get update -qq; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'); }
  work=$(mktemp -d)
  (cd "$work" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg -x ./*.deb x)
  cp "$work"/x/boot/vmlinuz-* "$cache/vmlinuz.part" && mv "$cache/vmlinuz.part" "$cache/vmlinuz"
  cp "$(find "$work/x/lib/modules" -name overlay.ko | head -1)" "$cache/overlay.ko"
  rm -rf "$work"
fi
cp "$cache/vmlinuz" "$out/vmlinuz"

# 3. The initramfs: busybox, glibc as ldd lists it for dist/box, dist/box, the module, the scripts.
root=$(mktemp -d)
mkdir -p "$root"/{bin,dev,proc,sys,tmp,newroot}
cp /bin/busybox "$root/bin/busybox"
cp "$top/dist/box" "$root/bin/box"
for lib in $(ldd "$top/dist/box" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$cache/overlay.ko" "$root/overlay.ko"
cp "$top/test/vm/init.sh" "$root/init"
cp "$top/test/vm/proofs.sh" "$root/proofs.sh"
# An OCI layout the test made (an image of many layers), when it made one.
[ -n "${BOX_VM_LAYERS:-}" ] && cp -a "$BOX_VM_LAYERS" "$root/layers"
cp "$top/test/vm/proofs-oci.sh" "$root/proofs-oci.sh"
chmod 755 "$root/init" "$root/proofs.sh" "$root/proofs-oci.sh"
(cd "$root" && find . | cpio -H newc -o --quiet | gzip -1) > "$out/initramfs.gz"
rm -rf "$root"
