#!/bin/sh
# The proofs of the limits issue, on a pure cgroup v2, minimal host. Each prints one line:
#   PROOF <name> PASS [detail]   or   PROOF <name> FAIL <what went wrong>
ROOT=/tmp/box
# The VM has no nftables; these proofs are about cgroups, so loopback only (no NAT warning).
export BOX_NETWORK=none
pass() { echo "PROOF $1 PASS $2"; }
fail() { echo "PROOF $1 FAIL $2"; }
# No container cgroup may remain under box/ after a container ended.
leftovers() { ls -d /sys/fs/cgroup/box/*/ 2>/dev/null | wc -l; }

# The host really is pure v2, and box runs there on its embedded Alpine.
if grep -q ' cgroup ' /proc/mounts; then fail v2-host "a cgroup v1 hierarchy is mounted"; else pass v2-host; fi
out=$(box --root $ROOT run sh -c 'echo ok' 2>&1)
[ "$out" = ok ] && pass run-ok || fail run-ok "box run sh -c 'echo ok' said: $out"

# The container sees its own cgroup as the root, read-only.
out=$(box --root $ROOT run sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; touch /sys/fs/cgroup/x 2>&1' 2>&1)
case "$out" in
  "0::/
2048
"*"Read-only file system"*) pass cgroupns ;;
  *) fail cgroupns "$(echo "$out" | tr '\n' '|')" ;;
esac

# A fork bomb under --pids-limit 20 fails to fork; the container ends on its own.
out=$(box --root $ROOT run --pids-limit 20 sh -c "sh -c 'for i in \$(seq 1 60); do sleep 30 & done' 2>/dev/null; cat /sys/fs/cgroup/pids.current; grep max /sys/fs/cgroup/pids.events; timeout 3 sh -c 'f() { f | f & }; f' 2>/dev/null; echo ended" 2>&1)
current=$(echo "$out" | sed -n 1p)
events=$(echo "$out" | sed -n 2p)
if [ "$current" -le 20 ] 2>/dev/null && [ "${events#max }" -gt 0 ] 2>/dev/null && echo "$out" | grep -q ended && [ "$(leftovers)" = 0 ]; then
  pass pids "current=$current $events"
else
  fail pids "$(echo "$out" | tr '\n' '|') leftovers=$(leftovers)"
fi

# A memory hog under -m 32m is killed, box says so, exit 137.
err=$(box --root $ROOT run -m 32m tail /dev/zero 2>&1 >/dev/null); code=$?
if [ $code = 137 ] && echo "$err" | grep -q "out of memory: the container reached its memory limit of 32 MiB and the kernel killed tail" && [ "$(leftovers)" = 0 ]; then
  pass memory "exit $code"
else
  fail memory "exit $code: $err leftovers=$(leftovers)"
fi

# A busy loop under --cpus 0.5 for 2 s uses 0.3 to 0.7 CPU-seconds per second (cpu.stat).
permille=$(box --root $ROOT run --cpus 0.5 sh -c 'u() { grep usage_usec /sys/fs/cgroup/cpu.stat | cut -d" " -f2; }; a=$(u); s=$(cut -d" " -f1 /proc/uptime); timeout 2 sh -c "while :; do :; done"; e=$(cut -d" " -f1 /proc/uptime); b=$(u); awk -v a=$a -v b=$b -v s=$s -v e=$e "BEGIN { printf \"%d\", (b - a) / ((e - s) * 1000) }"' 2>/dev/null)
if [ "$permille" -ge 300 ] 2>/dev/null && [ "$permille" -le 700 ] && [ "$(leftovers)" = 0 ]; then
  pass cpus "$permille/1000 CPU"
else
  fail cpus "got '$permille' leftovers=$(leftovers)"
fi

# An image of 150 layers, on a kernel without "lowerdir+": one page of mount options, the layers
# named relative to the store's directory of short links.
if [ -d /layers ]; then
  out=$(box --root $ROOT load -i /layers 2>&1 && box --root $ROOT run --rm many:150 sh -c 'cat /order; ls /layers | wc -l' 2>&1)
  if [ "$(echo "$out" | tail -2 | tr '\n' ' ')" = "149 149 " ] && [ "$(leftovers)" = 0 ]; then pass layers; else fail layers "$(echo "$out" | tr '\n' '|')"; fi
else
  fail layers "no image of many layers in the VM"
fi
