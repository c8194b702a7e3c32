#!/usr/bin/env bash
# Each policy figure with the policy and without it, side by side. "Without" is the same agent with
# --policy-dry-run: it makes the same decisions and applies none, so the only difference is the policy's
# writes. Needs root, stress-ng, fio and a built jar (./mvnw -q -B package -DskipTests).
#
#   sudo docs/experiments/policies.sh [--cpu-seconds 6] [--io-seconds 5] [--only cpu,cpuset,pinned,io,io-closed,oom]
#
# Figures (v1 here, hybrid layout; the disk is /var/tmp's):
#   cpu   two busy loops pinned to one CPU, classes weighted 1:3: usage ratio hi/lo (target 3 ± 10 %)
#   cpuset  weight 3 pinned to CPU 0 (one loop) + weight 1 on CPUs 0-1 (two loops): cores used, the policy's
#         entitlements (cpuset-aware max-min: 1 and 1) and weighted Jain's index of used/entitled
#   pinned  the same with equal weights, the second container's two loops pinned to CPU 0 and CPU 1 by taskset
#         (the load balancer cannot move them): the kernel applies the weights per CPU, ~2/3 : 4/3 cores
#   (cpuset and pinned: the containers' parent and the agent get the largest CPU weight, so that other work on
#   the machine hardly takes from them)
#   io    fio flooder (libaio, iodepth 16, O_DIRECT) + a 5 MiB/s O_DIRECT writer: Jain's index of used/entitled
#   io-closed  the flooder against a closed-loop writer (iodepth 1, 1 MiB): Jain of used / half the total
#   oom   300 MiB high-priority hog + a low-priority one growing 96 MiB/s under a 1 GiB parent limit:
#         who dies, and the kernel's OOM kills in the parent
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
corral="$repo/bin/corral"
cpu_seconds=6
io_seconds=5
figures="cpu,cpuset,pinned,io,io-closed,oom"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-seconds) cpu_seconds="$2"; shift 2 ;;
    --io-seconds) io_seconds="$2"; shift 2 ;;
    --only) figures="$2"; shift 2 ;;
    *) echo "usage: $0 [--cpu-seconds N] [--io-seconds N] [--only FIGURE,...]" >&2; exit 2 ;;
  esac
done
for tool in stress-ng fio; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 1; }
done

policy_json='{
  "classes": [
    { "name": "hi", "priority": 100, "weight": 3, "selector": { "names": ["hi", "modest", "ua"] } },
    { "name": "lo", "priority": 10, "weight": 1 }
  ],
  "policies": {
    "memoryPressure": { "enabled": false },
    "oomProtection": { "parentUsageAbove": 0.8, "cooldown": "3s" },
    "ioFairness": { "saturation": 0.8, "headroom": 0.8, "liftAfter": "1s", "minActive": "256k" }
  }
}'

agent_pid=""
state=""
parent=""
cleanup() {
  if [ -n "$state" ] && [ -S "$state/corral.sock" ]; then
    for c in $("$corral" -H "unix://$state/corral.sock" ps -a -q 2>/dev/null); do
      "$corral" -H "unix://$state/corral.sock" rm -f "$c" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$agent_pid" ]; then kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  if [ -n "$parent" ]; then
    [ -d "/sys/fs/cgroup/cpu$parent-agent" ] && rmdir "/sys/fs/cgroup/cpu$parent-agent" 2>/dev/null || true
    for h in /sys/fs/cgroup/*/"${parent#/}" /sys/fs/cgroup/unified/"${parent#/}"; do
      [ -d "$h" ] && rmdir "$h" 2>/dev/null || true
    done
  fi
  [ -n "$state" ] && rm -rf "$state"
  rm -f /var/tmp/corral-exp-*
  agent_pid="" state="" parent=""
}
trap cleanup EXIT

start_agent() { # $1: "" or --policy-dry-run
  state="$(mktemp -d /tmp/corral-exp.XXXXXX)"
  parent="/corral-exp-$(basename "$state" | cut -d. -f2)"
  echo "$policy_json" >"$state/policy.json"
  port=$((20000 + RANDOM % 20000))
  "$corral" serve --listen 127.0.0.1:$port --socket "$state/corral.sock" \
    --state-dir "$state" --cgroup-parent "$parent" --cgroup-root "$parent" --interval 200ms \
    --policy "$state/policy.json" $1 2>"$state/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do [ -S "$state/corral.sock" ] && return; sleep 0.1; done
  echo "the agent did not start:" >&2; cat "$state/agent.log" >&2; exit 1
}
c() { "$corral" -H "unix://$state/corral.sock" "$@"; }
cg() { echo "/sys/fs/cgroup/$1$parent/$2"; } # v1 controller, container

cpu_figure() {
  c run -d --name lo --cpuset-cpus 1 sh -c 'while :; do :; done' >/dev/null
  c run -d --name hi --cpuset-cpus 1 sh -c 'while :; do :; done' >/dev/null
  sleep 3 # the policy writes the weights; the kernel settles
  local lo0 hi0 lo1 hi1
  lo0=$(cat "$(cg cpuacct lo)/cpuacct.usage"); hi0=$(cat "$(cg cpuacct hi)/cpuacct.usage")
  sleep "$cpu_seconds"
  lo1=$(cat "$(cg cpuacct lo)/cpuacct.usage"); hi1=$(cat "$(cg cpuacct hi)/cpuacct.usage")
  cpu_result=$(awk -v l=$((lo1 - lo0)) -v h=$((hi1 - hi0)) -v s="$cpu_seconds" -v sl="$(cat "$(cg cpu lo)/cpu.shares")" \
    -v sh="$(cat "$(cg cpu hi)/cpu.shares")" \
    'BEGIN { printf "lo %.3f cores, hi %.3f cores, hi/lo %.2f (shares %d:%d)", l/1e9/s, h/1e9/s, h/l, sl, sh }')
  c rm -f lo hi >/dev/null
}

# The parent and the agent at the largest CPU weight (the agent in a sibling cgroup, so the loops do not starve
# its collector); undone by cleanup (the agent's cgroup goes with it).
favour() {
  echo 262144 >"/sys/fs/cgroup/cpu$parent/cpu.shares"
  mkdir -p "/sys/fs/cgroup/cpu$parent-agent"
  echo 262144 >"/sys/fs/cgroup/cpu$parent-agent/cpu.shares"
  echo "$agent_pid" >"/sys/fs/cgroup/cpu$parent-agent/cgroup.procs"
}

entitled() { # the policy's entitlement of container $1, from /metrics
  curl -s "127.0.0.1:$port/metrics" | awk -v id="$parent/$1" \
    'index($0, "corral_policy_cpu_entitled_cores{id=\"" id "\"") == 1 { print $2; exit }'
}

# Two containers a and b started by the caller; prints cores used, mean entitlements and Jain over cpu_seconds.
two_used() {
  sleep 3
  local a0 b0 a1 b1 t0 t1 ea=0 eb=0 n=0 x y
  a0=$(cat "$(cg cpuacct "$1")/cpuacct.usage"); b0=$(cat "$(cg cpuacct "$2")/cpuacct.usage"); t0=$(date +%s.%N)
  for _ in $(seq $((cpu_seconds * 2))); do
    sleep 0.5
    x=$(entitled "$1"); y=$(entitled "$2")
    if [ -n "$x" ] && [ -n "$y" ]; then ea=$(awk -v s="$ea" -v v="$x" 'BEGIN { print s + v }'); \
      eb=$(awk -v s="$eb" -v v="$y" 'BEGIN { print s + v }'); n=$((n + 1)); fi
  done
  a1=$(cat "$(cg cpuacct "$1")/cpuacct.usage"); b1=$(cat "$(cg cpuacct "$2")/cpuacct.usage"); t1=$(date +%s.%N)
  awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v t0="$t0" -v t1="$t1" -v ea="$ea" -v eb="$eb" -v n="$n" \
    -v q="$(cat "$(cg cpu "$2")/cpu.cfs_quota_us")" -v na="$1" -v nb="$2" 'BEGIN {
    s = t1 - t0; ua = a / 1e9 / s; ub = b / 1e9 / s; ea /= n; eb /= n; xa = ua / ea; xb = ub / eb
    printf "%s %.3f, %s %.3f cores; entitled %.2f, %.2f; Jain %.3f; %s quota %s", na, ua, nb, ub, ea, eb,
      (xa + xb)^2 / (2 * (xa^2 + xb^2)), nb, (q < 0 ? "none" : sprintf("%.2f cores", q / 100000)) }'
}

cpuset_figure() {
  favour
  c run -d --name ua --cpuset-cpus 0 sh -c 'while :; do :; done' >/dev/null
  c run -d --name ub --cpuset-cpus 0-1 sh -c 'while :; do :; done & while :; do :; done' >/dev/null
  cpuset_result=$(two_used ua ub)
  c rm -f ua ub >/dev/null
}

pinned_figure() {
  favour
  c run -d --name pa --cpuset-cpus 0 sh -c 'while :; do :; done' >/dev/null
  c run -d --name pb --cpuset-cpus 0-1 sh -c \
    'taskset -c 0 sh -c "while :; do :; done" & exec taskset -c 1 sh -c "while :; do :; done"' >/dev/null
  pinned_result=$(two_used pa pb)
  c rm -f pa pb >/dev/null
}

written() { awk -v d="$2" '$1 == d && $2 == "Write" { print $3 }' "$(cg blkio "$1")/blkio.throttle.io_service_bytes"; }

io_figure() {
  local dev d
  d=$(stat -c %d /var/tmp)
  dev="$((d >> 8)):$((d & 255))" # the device /var/tmp is on, e.g. 254:0
  c run -d --name flood fio --name=flood --filename=/var/tmp/corral-exp-flood --size=256M --rw=write --bs=1M \
    --direct=1 --ioengine=libaio --iodepth=16 --time_based --runtime=60 >/dev/null
  sleep 1.5
  local f0 f1 m0 m1 t0 t1
  f0=$(written flood "$dev"); t0=$(date +%s.%N); sleep 2.5; f1=$(written flood "$dev"); t1=$(date +%s.%N)
  local alone
  alone=$(awk -v b=$((f1 - f0)) -v t0="$t0" -v t1="$t1" 'BEGIN { print b / (t1 - t0) }')
  c run -d --name modest fio --name=modest --filename=/var/tmp/corral-exp-modest --size=64M --rw=write --bs=64k \
    --direct=1 --ioengine=psync --rate=5m --time_based --runtime=60 >/dev/null
  sleep 3 # the policy sees saturation and throttles
  f0=$(written flood "$dev"); m0=$(written modest "$dev"); t0=$(date +%s.%N)
  sleep "$io_seconds"
  f1=$(written flood "$dev"); m1=$(written modest "$dev"); t1=$(date +%s.%N)
  local throttle
  throttle=$(awk -v d="$dev" '$1 == d { printf "%.0f MiB/s", $2 / 1048576 }' "$(cg blkio flood)/blkio.throttle.write_bps_device")
  io_result=$(awk -v a="$alone" -v f=$((f1 - f0)) -v m=$((m1 - m0)) -v t0="$t0" -v t1="$t1" -v th="${throttle:-none}" 'BEGIN {
    s = t1 - t0; fr = f / s; mr = m / s; want = 5 * 1048576
    xm = mr / want; if (xm > 1) xm = 1; xf = fr / (a - want); if (xf > 1) xf = 1
    printf "flood alone %.0f MiB/s; flood %.0f MiB/s, modest %.2f MiB/s, Jain %.3f (flood throttle %s)",
      a / 1048576, fr / 1048576, mr / 1048576, (xm + xf)^2 / (2 * (xm^2 + xf^2)), th }')
  c rm -f modest flood >/dev/null
  rm -f /var/tmp/corral-exp-*
}

# Two closed-loop writers, both wanting all they can get: the flooder (iodepth 16) against one write at a time
# (iodepth 1). Equal weights: max-min entitles each to half of what the device does.
io_closed_figure() {
  local d dev
  d=$(stat -c %d /var/tmp)
  dev="$((d >> 8)):$((d & 255))"
  c run -d --name flood fio --name=flood --filename=/var/tmp/corral-exp-flood --size=256M --rw=write --bs=1M \
    --direct=1 --ioengine=libaio --iodepth=16 --time_based --runtime=60 >/dev/null
  c run -d --name single fio --name=single --filename=/var/tmp/corral-exp-single --size=256M --rw=write --bs=1M \
    --direct=1 --ioengine=psync --time_based --runtime=60 >/dev/null
  sleep 4
  local f0 f1 s0 s1 t0 t1
  f0=$(written flood "$dev"); s0=$(written single "$dev"); t0=$(date +%s.%N)
  sleep "$io_seconds"
  f1=$(written flood "$dev"); s1=$(written single "$dev"); t1=$(date +%s.%N)
  io_closed_result=$(awk -v f=$((f1 - f0)) -v g=$((s1 - s0)) -v t0="$t0" -v t1="$t1" 'BEGIN {
    s = t1 - t0; a = f / s; b = g / s; e = (a + b) / 2
    xa = a / e; if (xa > 1) xa = 1; xb = b / e; if (xb > 1) xb = 1
    printf "flood %.0f MiB/s, single %.0f MiB/s, Jain of used/half %.3f", a / 1048576, b / 1048576,
      (xa + xb)^2 / (2 * (xa^2 + xb^2)) }')
  c rm -f single flood >/dev/null
  rm -f /var/tmp/corral-exp-*
}

oom_figure() {
  echo $((1 << 30)) >"/sys/fs/cgroup/memory$parent/memory.limit_in_bytes"
  c run -d --name hi stress-ng --vm 1 --vm-bytes 300M --vm-keep --vm-hang 0 -t 60 >/dev/null
  sleep 3
  c run -d --name lo sh -c 'for i in $(seq 16); do stress-ng --vm 1 --vm-bytes 48M --vm-keep --vm-hang 0 -t 60 \
    >/dev/null 2>&1 & sleep 0.5; done; wait' >/dev/null
  local lo_exit
  lo_exit=$(timeout 30 "$corral" -H "unix://$state/corral.sock" wait lo || echo "still running")
  sleep 1
  local kernel hi_state lo_oom
  # v1 counts an OOM kill in the victim's own memory cgroup only: add the parent's and both containers'
  kernel=$(cat "/sys/fs/cgroup/memory$parent/memory.oom_control" "$(cg memory hi)/memory.oom_control" \
    "$(cg memory lo)/memory.oom_control" 2>/dev/null | awk '$1 == "oom_kill" { n += $2 } END { print n + 0 }')
  hi_state=$(c inspect hi | tr ',' '\n' | awk -F'"' '/"state"/ { print $4; exit }')
  lo_oom=$(c inspect lo | tr ',' '\n' | awk -F: '/"oomKilled"/ { print $2; exit }')
  oom_result="lo exit: $lo_exit (oomKilled ${lo_oom:-?}), hi: $hi_state, kernel OOM kills in parent+hi+lo: $kernel"
  c rm -f lo hi >/dev/null
  echo -1 >"/sys/fs/cgroup/memory$parent/memory.limit_in_bytes"
}

declare -A results
wants() { [[ ",$figures," == *",$1,"* ]]; }
for mode in policy dry-run; do
  start_agent "$([ "$mode" = dry-run ] && echo --policy-dry-run || true)"
  if wants cpu; then cpu_figure; results[cpu,$mode]=$cpu_result; fi
  if wants cpuset; then cpuset_figure; results[cpuset,$mode]=$cpuset_result; fi
  if wants pinned; then pinned_figure; results[pinned,$mode]=$pinned_result; fi
  if wants io; then io_figure; results[io,$mode]=$io_result; fi
  if wants io-closed; then io_closed_figure; results[io-closed,$mode]=$io_closed_result; fi
  if wants oom; then oom_figure; results[oom,$mode]=$oom_result; fi
  cleanup
done

echo "load average before the last run's cleanup: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s | %-9s | %s\n' figure mode result
for fig in cpu cpuset pinned io io-closed oom; do
  wants "$fig" || continue
  for mode in policy dry-run; do
    printf '%-9s | %-9s | %s\n' "$fig" "$mode" "${results[$fig,$mode]}"
  done
done
