#!/usr/bin/env bash
# A/B of Corral builds on the one-request run (POST /v1/containers?start=true&wait=true&rm=true, /bin/true on a
# busybox rootfs, 64 MiB + 0.5 CPU, five namespaces), sent by bash itself over TCP as launch-vs-runc-crun.sh's
# NAME-tcp is, and crun run alongside for reference. Timed with bash's $EPOCHREALTIME: launch-vs-runc-crun.sh forks
# `date` twice per sample, which adds 1-2 ms of process creation to every tool's time and most of the noise when
# the machine is busy. The builds take turns in each round (order alternating), so each round gives a paired
# difference; its median is printed with the medians.
#   sudo LAUNCH_JARS="base=/tmp/base.jar new=agent/target/corral.jar" docs/benchmarks/launch-ab.sh [ROUNDS]
set -euo pipefail
rounds=${1:-300}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/corral-bench-ab.XXXXXX)
parent=/corral-bench-ab-$$
agent_pids=()
cleanup() {
  for p in "${agent_pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in /sys/fs/cgroup/*/"${parent#/}"* /sys/fs/cgroup/*/corral-bench-ab-oci; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
for tool in crun runc busybox jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ -n "${LAUNCH_JARS:-}" ] || { echo "set LAUNCH_JARS=\"a=JAR b=JAR\"" >&2; exit 2; }

rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp}
cp /usr/bin/busybox "$rootfs/bin/busybox"
for a in true sh; do ln -sf busybox "$rootfs/bin/$a"; done
(cd "$work/bundle" && runc spec)
jq '.process.args=["/bin/true"] | .process.terminal=false | .root.readonly=true
  | .linux.resources={"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000}}
  | .linux.cgroupsPath="/corral-bench-ab-oci/c"
  | .linux.namespaces=[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]' \
  "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"

variants=()
declare -A ports tokens samples
for v in $LAUNCH_JARS; do
  name=${v%%=*}
  mkdir -p "$work/$name"
  cp "${v#*=}" "$work/$name/corral.jar"
  CORRAL_JAR="$work/$name/corral.jar" "$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/$name/state" \
    --cgroup-parent "$parent-$name" --socket "$work/$name/corral.sock" --interval 1s >"$work/$name/agent.log" 2>&1 &
  agent_pids+=($!)
  variants+=("$name")
done
for name in "${variants[@]}"; do
  for _ in $(seq 100); do
    ports[$name]=$(sed -n 's|.*serving on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$name/agent.log")
    [ -S "$work/$name/corral.sock" ] && [ -n "${ports[$name]}" ] && break
    sleep 0.1
  done
  [ -n "${ports[$name]}" ] || { echo "$name: no TCP port in $work/$name/agent.log" >&2; exit 1; }
  tokens[$name]=$(cat "$work/$name/state/api-token")
done

run_tcp() {  # VARIANT I
  local body line status
  printf -v body '{"name":"t%s","command":["/bin/true"],"rootfs":"%s","readOnlyRootfs":true,"limits":{"memory":{"max":"64m"},"cpu":{"cpus":0.5}}}' "$2" "$rootfs"
  exec 3<>"/dev/tcp/127.0.0.1/${ports[$1]}"
  printf 'POST /v1/containers?start=true&wait=true&rm=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${tokens[$1]}" "${#body}" "$body" >&3
  IFS= read -r status <&3
  while IFS= read -r line <&3; do :; done
  exec 3<&-
  [[ $status == *" 200 "* ]]
}
crun_run() { unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run --bundle '$work/bundle' 'k$1'"; }
us() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) )); }

# Warm-up (the JIT compiles the launch path over the first tens of runs); each run must succeed.
for w in $(seq 300); do
  for name in "${variants[@]}"; do run_tcp "$name" "w$w" || { echo "$name: the run failed" >&2; exit 1; }; done
done
crun_run w >/dev/null 2>&1 || { echo "crun run failed" >&2; exit 1; }
for i in $(seq "$rounds"); do
  order=("${variants[@]}")
  if (( i % 2 )); then order=(); for ((k = ${#variants[@]} - 1; k >= 0; k--)); do order+=("${variants[k]}"); done; fi
  for name in "${order[@]}"; do samples[$name]+="$(us run_tcp "$name" "$i") "; done
  samples[crun]+="$(us crun_run "$i") "
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f", (a[int((NR+1)/2)] + a[int(NR/2)+1]) / 2000}'; }
printf '%-10s %10s\n' run median_ms
for t in "${variants[@]}" crun; do printf '%-10s %10s\n' "$t" "$(median "${samples[$t]}")"; done
first=${variants[0]}
for name in "${variants[@]:1}"; do
  paste -d- <(tr ' ' '\n' <<<"${samples[$name]}" | grep .) <(tr ' ' '\n' <<<"${samples[$first]}" | grep .) | bc \
    | tr '\n' ' ' >"$work/diff"
  echo "$name - $first, median of the paired differences: $(median "$(cat "$work/diff")") ms"
done
echo "rounds=$rounds; one request per run over TCP from bash; $(cut -d' ' -f1-3 /proc/loadavg) load average at the end"
