#!/usr/bin/env bash
# What bridge networking adds to a launch: the one-request run (POST /v1/containers?start=true&wait=true&rm=true,
# /bin/true on a busybox rootfs) with "network":"none" and with "network":"bridge", in alternating turns on one
# agent with a private bridge and subnet. The bridge run's extra work: the address and /etc files at create, one
# netlink request in the monitor (the veth pair, its peer made in the container's netns), four ioctls in init,
# and the veth's removal with the netns. A third variant, "publish", is bridge with a port published on 127.0.0.1
# (its DNAT added at create and deleted at removal). Prints the medians and the medians of the paired differences (ms).
#   sudo bench/network-launch.sh [ROUNDS]        (CORRAL_JAR=... for another build)
set -euo pipefail
rounds=${1:-200}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
work=$(mktemp -d /tmp/corral-bench-net.XXXXXX)
parent=/corral-bench-net-$$
bridge=cnbench$((RANDOM % 10000))
subnet=10.$((200 + RANDOM % 30)).$((RANDOM % 256)).0/24
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
  nft delete table inet "corral_$bridge" 2>/dev/null || true
  for d in /sys/fs/cgroup/*/"${parent#/}"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
"$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/state" --cgroup-parent "$parent" \
  --socket "$work/corral.sock" --bridge "$bridge" --bridge-subnet "$subnet" >"$work/agent.log" 2>&1 &
pid=$!
port=$(bench_wait_agent "$work/agent.log" "$pid" "$work/corral.sock" 100) || exit 1
token=$(cat "$work/state/api-token")

run() { # NETWORK N: true on 200 (NETWORK publish: bridge with a port on 127.0.0.1)
  local body line status net=$1 ports=""
  [ "$net" = publish ] && net=bridge ports=',"ports":[{"hostIp":"127.0.0.1","containerPort":80}]'
  printf -v body '{"name":"t%s","command":["/bin/true"],"rootfs":"%s","namespaces":{"network":"%s"}%s}' "$2" "$rootfs" "$net" "$ports"
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'POST /v1/containers?start=true&wait=true&rm=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$token" "${#body}" "$body" >&3
  IFS= read -r status <&3
  while IFS= read -r line <&3; do :; done
  exec 3<&-
  [[ $status == *" 200 "* ]]
}
us() { local t0=$EPOCHREALTIME; run "$@" || { echo "failed: $*" >&2; exit 1; }; local t1=$EPOCHREALTIME
  echo $(( ${t1/./} - ${t0/./} )); }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1000}'; }

for w in $(seq 100); do run none "w$w" && run bridge "w$w" && run publish "w$w" || { echo "warm-up run failed" >&2; exit 1; }; done
none=() bridged=() published=() diff=() pdiff=()
for i in $(seq "$rounds"); do
  case $(( i % 3 )) in
    0) a=$(us none "n$i"); b=$(us bridge "b$i"); c=$(us publish "p$i") ;;
    1) b=$(us bridge "b$i"); c=$(us publish "p$i"); a=$(us none "n$i") ;;
    *) c=$(us publish "p$i"); a=$(us none "n$i"); b=$(us bridge "b$i") ;;
  esac
  none+=("$a") bridged+=("$b") published+=("$c") diff+=($((b - a))) pdiff+=($((c - b)))
done
echo "rounds=$rounds load=$(cut -d' ' -f1-3 /proc/loadavg) none_median_ms=$(printf '%s\n' "${none[@]}" | median)" \
  "bridge_median_ms=$(printf '%s\n' "${bridged[@]}" | median) publish_median_ms=$(printf '%s\n' "${published[@]}" | median)" \
  "paired_diff_median_ms=$(printf '%s\n' "${diff[@]}" | median) publish_minus_bridge_median_ms=$(printf '%s\n' "${pdiff[@]}" | median)"
grep -q 'writing the whole table' "$work/agent.log" && echo "note: the agent wrote its whole table again: $(grep -c 'writing the whole table' "$work/agent.log") times" || true
