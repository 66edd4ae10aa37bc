#!/bin/sh
# The proofs of box as an OCI runtime (box-runc) on the pure cgroup v2, minimal host. Run after
# proofs.sh, whose first box run unpacked the embedded Alpine: its layer (the one with a busybox; the
# image of many layers that proofs.sh loads has others) is the bundle's root.
# Each prints one line: PROOF <name> PASS [detail]  or  PROOF <name> FAIL <what went wrong>
pass() { echo "PROOF $1 PASS $2"; }
fail() { echo "PROOF $1 FAIL $2"; }
ln -sf /bin/box /bin/box-runc
R="box-runc --root /tmp/box-runc"
layer=
for l in /tmp/box/images/layers/*/diff; do [ -x "$l/bin/busybox" ] && layer=$l && break; done
B=/tmp/bundle
mkdir -p $B
bundle() { # ARGS-JSON
  cat > $B/config.json <<JSON
{ "ociVersion": "1.1.0",
  "process": { "user": { "uid": 0, "gid": 0 }, "args": $1, "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/",
    "capabilities": { "bounding": ["CAP_MKNOD", "CAP_KILL"], "effective": ["CAP_MKNOD", "CAP_KILL"], "permitted": ["CAP_MKNOD", "CAP_KILL"] },
    "noNewPrivileges": true },
  "root": { "path": "$layer", "readonly": true },
  "hostname": "oci",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=1m"] },
    { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"] } ],
  "linux": {
    "cgroupsPath": "/box-runc-vm/c",
    "resources": { "devices": [{ "allow": false, "access": "rwm" }], "pids": { "limit": 33 }, "memory": { "limit": 67108864 } },
    "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }] } }
JSON
}

[ -n "$layer" ] || fail oci-bundle "no unpacked Alpine layer under /tmp/box"

# Limits on cgroup v2, seen by the container in its own cgroup namespace.
bundle '["sh", "-c", "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; hostname"]'
out=$($R run --bundle $B v1 2>&1)
[ "$out" = "33
67108864
oci" ] && [ ! -d /sys/fs/cgroup/box-runc-vm/c ] && pass oci-limits || fail oci-limits "$(echo "$out" | tr '\n' '|')"

# The device rules as an eBPF program: /dev/null works, a disk made with mknod cannot be opened.
bundle '["sh", "-c", "echo x > /dev/null && echo null-ok; mknod /dev/sda b 8 0 2>&1; head -c1 /dev/sda 2>&1 | grep -o \"Operation not permitted\"; head -c1 /dev/zero | wc -c"]'
out=$($R run --bundle $B v2 2>&1)
case "$out" in
  "null-ok"*"Operation not permitted"*) pass oci-devices "$(echo "$out" | tr '\n' '|')" ;;
  *) fail oci-devices "$(echo "$out" | tr '\n' '|')" ;;
esac

# create, state, start, delete: nothing left.
bundle '["sleep", "30"]'
$R create --bundle $B v3 </dev/null >/dev/null 2>&1
s1=$($R state v3 | grep '"status"' | tr -d ' ,')
$R start v3 && s2=$($R state v3 | grep '"status"' | tr -d ' ,')
$R delete --force v3
left=$(ls /tmp/box-runc 2>/dev/null | wc -l)
[ "$s1" = '"status":"created"' ] && [ "$s2" = '"status":"running"' ] && [ "$left" = 0 ] && [ ! -d /sys/fs/cgroup/box-runc-vm/c ] && pass oci-lifecycle || fail oci-lifecycle "$s1 $s2 left=$left"
