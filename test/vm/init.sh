#!/bin/busybox sh
# PID 1 of the test VM: a minimal host with busybox, glibc and box, on pure cgroup v2.
/bin/busybox --install -s /bin
export PATH=/bin
if [ "$1" != stage2 ]; then
  # pivot_root cannot leave the initramfs, and neither could box: move everything onto a tmpfs.
  mount -t tmpfs -o size=1536m tmpfs /newroot
  for d in /*; do
    case "$d" in /newroot|/proc|/sys|/dev) ;; *) cp -a "$d" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
  exec switch_root /newroot /init stage2
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
insmod /overlay.ko
echo "VM kernel $(uname -r), cgroup: $(cat /sys/fs/cgroup/cgroup.controllers)"
sh /proofs.sh
sh /proofs-oci.sh
echo "PROOFS DONE"
poweroff -f
