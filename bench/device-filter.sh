#!/usr/bin/env bash
# What the cgroup v2 device filter adds to a launch: corral-shim runs /bin/true (pid/mount/uts/ipc/net
# namespaces, joining one cgroup2 cgroup) with and without device_cgroup + the default rules, the two variants
# interleaved run by run. Prints each median and p90 in ms, and the load average.
#   sudo bench/device-filter.sh [RUNS] [SHIM]      (default 200, agent/target/classes/native/...)
set -euo pipefail
runs=${1:-200}
repo=$(cd "$(dirname "$0")/.." && pwd)
shim=${2:-$repo/agent/target/classes/native/linux-x86_64/corral-shim}
v2_root=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$v2_root" ] || { echo "needs a cgroup2 mount" >&2; exit 2; }
work=$(mktemp -d /tmp/corral-bench-devices.XXXXXX)
cg=$v2_root/corral-bench-devices-$$
cleanup() { rmdir "$cg" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
mkdir "$cg"
# The rules of agent/src/main/java/dev/corral/agent/cgroup/DeviceRules.java
rules=()
for r in 'c *:* m' 'b *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' 'c 1:8 rwm' 'c 1:9 rwm' 'c 5:0 rwm' 'c 5:1 rwm' \
    'c 5:2 rwm' 'c 136:* rwm' 'c 10:200 rwm'; do rules+=(device_rule "$r"); done
base=(arg /bin/true ns pid ns mount ns uts ns ipc ns net cgroup_procs "$cg/cgroup.procs")
printf '%s\0' "${base[@]}" >"$work/plain"
printf '%s\0' "${base[@]}" device_cgroup "$cg" "${rules[@]}" >"$work/filter"
ms() { local t0=$EPOCHREALTIME; "$shim" run "$1" >/dev/null; awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
for _ in $(seq "$runs"); do
  ms "$work/plain" >>"$work/plain.ms"
  ms "$work/filter" >>"$work/filter.ms"
done
sleep 0.5 # the last monitors exit
for v in plain filter; do
  sort -n "$work/$v.ms" | awk -v v="$v" '{ a[NR] = $1 } END { printf "%-7s median %.2f ms  p90 %.2f ms  (%d runs)\n", v, (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2, a[int(NR*0.9)], NR }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
