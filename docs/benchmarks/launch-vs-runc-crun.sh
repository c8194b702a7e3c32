#!/usr/bin/env bash
# Container launch latency, side by side in one run: Corral (through its daemon's API), runc, crun and raw
# unshare, each running /bin/true on the same busybox rootfs with pid/mount/uts/ipc/net namespaces and
# 64 MiB memory + 0.5 CPU limits. Prints medians, p90 and ratios to crun, and Corral's time per request.
#   sudo docs/benchmarks/launch-vs-runc-crun.sh [RUNS]        (needs: a built agent jar, runc, crun, busybox)
#   sudo LAUNCH_JARS="base=/tmp/old.jar new=agent/target/corral.jar" docs/benchmarks/launch-vs-runc-crun.sh 40
# LAUNCH_JARS runs one daemon per jar (own state dir, socket and parent cgroup), interleaved with the peers, to
# compare builds side by side; by default one daemon runs agent/target/corral.jar as "corral".
# Each daemon is timed two ways when its build has it: NAME = POST run + POST wait + DELETE (three requests), and
# NAME-1req = POST /v1/containers?start=true&wait=true&rm=true (one request: create, start, wait and remove, as
# `crun run` and `docker run --rm` do in one call), and NAME-tcp = that one request sent by bash itself over TCP
# (/dev/tcp, bearer token), so no client process is started: the daemon's own latency, which a long-lived client
# (an orchestrator) sees. "curl" times an empty request (GET /healthz): the client process alone.
set -euo pipefail
runs=${1:-50}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/corral-bench-launch.XXXXXX)
parent=/corral-bench-launch-$$
agent_pids=()
cleanup() {
  for p in "${agent_pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in /sys/fs/cgroup/*/"${parent#/}"* /sys/fs/cgroup/*/corral-bench-oci; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in runc crun busybox curl jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
done

# One busybox rootfs for everyone.
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp}
cp /usr/bin/busybox "$rootfs/bin/busybox"
# Relative links: `busybox --install -s` writes absolute host paths, which do not resolve inside the rootfs
# (runs before 08:25 UTC on 2026-11-29 timed a failed exec for every tool because of that).
for a in true sh; do ln -sf busybox "$rootfs/bin/$a"; done

# An OCI bundle for runc and crun with the same limits.
(cd "$work/bundle" && runc spec)
jq --arg cg "/corral-bench-oci/c" '.process.args=["/bin/true"] | .process.terminal=false | .root.readonly=true
  | .linux.resources={"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000}}
  | .linux.cgroupsPath=$cg
  | .linux.namespaces=[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]' \
  "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"

# Corral's daemons, each on its own state dir, socket and cgroup parent.
jars=${LAUNCH_JARS:-corral=$repo/agent/target/corral.jar}
variants=()
for v in $jars; do
  name=${v%%=*}
  mkdir -p "$work/$name"
  cp "${v#*=}" "$work/$name/corral.jar"
  CORRAL_JAR="$work/$name/corral.jar" "$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/$name/state" \
    --cgroup-parent "$parent-$name" --socket "$work/$name/corral.sock" --interval 1s >"$work/$name/agent.log" 2>&1 &
  agent_pids+=($!)
  variants+=("$name")
done
for name in "${variants[@]}"; do
  for _ in $(seq 100); do [ -S "$work/$name/corral.sock" ] && break; sleep 0.1; done
done

ms() { echo "$(( ($2 - $1) / 1000 ))"; }  # ns → µs
time_one() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); ms "$t0" "$t1"; }

spec() { echo "{\"name\":\"$1\",\"command\":[\"/bin/true\"],\"rootfs\":\"$rootfs\",\"readOnlyRootfs\":true,\"limits\":{\"memory\":{\"max\":\"64m\"},\"cpu\":{\"cpus\":0.5}}}"; }
corral_run() {  # VARIANT I: create+start, wait for the exit, remove: three requests
  local sock="$work/$1/corral.sock" w='%{time_total}\n'
  curl -sf -o /dev/null -w "$w" --unix-socket "$sock" -XPOST "http://x/v1/containers?start=true" -d "$(spec "b$2")" \
    --next --unix-socket "$sock" -sf -o /dev/null -w "$w" -XPOST "http://x/v1/containers/b$2/wait" \
    --next --unix-socket "$sock" -sf -o /dev/null -w "$w" -XDELETE "http://x/v1/containers/b$2" >>"$work/$1/requests"
}
corral_run1() {  # VARIANT I: the same in one request
  curl -sf -o /dev/null --unix-socket "$work/$1/corral.sock" -XPOST "http://x/v1/containers?start=true&wait=true&rm=true" \
    -d "$(spec "o$2")"
}
corral_tcp() {  # VARIANT I: the same request from bash's /dev/tcp: no process is started
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
curl_floor() { curl -sf -o /dev/null --unix-socket "$work/$1/corral.sock" http://x/healthz; }
runc_run() { runc run --bundle "$work/bundle" "r$1"; }
# crun 1.8 refuses the hybrid layout: hide the cgroup2 mount in a private mount namespace (environment notes).
crun_run() { unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run --bundle '$work/bundle' 'k$1'"; }
raw_run() { unshare --fork --pid --mount --uts --ipc --net --mount-proc /bin/true; }

# Every tool must really run /bin/true before anything is timed.
check() { "$@" >"$work/check.out" 2>&1 || { echo "launch check failed: $*" >&2; cat "$work/check.out" >&2; exit 1; }; }
check runc_run 0
check crun_run 0
check raw_run
onereq=()
declare -A ports tokens
for name in "${variants[@]}"; do
  : >"$work/$name/requests"
  out=$(curl -sf --unix-socket "$work/$name/corral.sock" -XPOST "http://x/v1/containers?start=true" -d "{\"name\":\"b0\",\"command\":[\"/bin/true\"],\"rootfs\":\"$rootfs\",\"readOnlyRootfs\":true}" \
    --next --unix-socket "$work/$name/corral.sock" -sf -XPOST "http://x/v1/containers/b0/wait" \
    --next --unix-socket "$work/$name/corral.sock" -sf -XDELETE "http://x/v1/containers/b0") || true
  grep -q '"exitCode" *: *0' <<<"$out" || { echo "launch check failed for $name: $out" >&2; exit 1; }
  # One request, where the build has it (an older one ignores wait and rm: it answers 201, the container running).
  out=$(curl -s -w '\n%{http_code}' --unix-socket "$work/$name/corral.sock" -XPOST \
    "http://x/v1/containers?start=true&wait=true&rm=true" -d "$(spec o0)") || true
  if [ "${out##*$'\n'}" = 200 ] && grep -q '"exitCode" *: *0' <<<"$out"; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$work/$name/corral.sock" "http://x/v1/containers/o0")" = 404 ] \
      || { echo "launch check failed for $name-1req: o0 was not removed" >&2; exit 1; }
    onereq+=("$name")
    ports[$name]=$(sed -n 's|.*serving on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$name/agent.log")
    tokens[$name]=$(cat "$work/$name/state/api-token")
    check corral_tcp "$name" 0
  else
    curl -s --unix-socket "$work/$name/corral.sock" -XDELETE "http://x/v1/containers/o0?force=true" >/dev/null || true
  fi
done

declare -A samples
for i in $(seq "$runs"); do  # interleaved, so load affects every tool alike
  for name in "${variants[@]}"; do samples[$name]+="$(time_one corral_run "$name" "$i") "; done
  for name in "${onereq[@]}"; do
    samples[$name-1req]+="$(time_one corral_run1 "$name" "$i") "
    samples[$name-tcp]+="$(time_one corral_tcp "$name" "$i") "
  done
  samples[curl]+="$(time_one curl_floor "${variants[0]}") "
  samples[runc]+="$(time_one runc_run "$i") "
  samples[crun]+="$(time_one crun_run "$i") "
  samples[raw]+="$(time_one raw_run) "
done

stat() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f", a[int((NR+1)/2)]/1000, a[int(NR*0.9)]/1000}'; }
read -r crun_med _ <<<"$(stat "${samples[crun]}")"
printf '%-8s %10s %10s %12s\n' tool median_ms p90_ms vs_crun
for t in "${variants[@]}" "${onereq[@]/%/-1req}" "${onereq[@]/%/-tcp}" runc crun raw curl; do
  read -r med p90 <<<"$(stat "${samples[$t]}")"
  printf '%-8s %10s %10s %12s\n' "$t" "$med" "$p90" "$(awk -v a="$med" -v b="$crun_med" 'BEGIN{printf "%.2fx", a/b}')"
done
echo "runs=$runs; NAME = POST run + POST wait + DELETE over the unix socket in one curl process;" \
  "NAME-1req = POST ?start=true&wait=true&rm=true (curl); NAME-tcp = the same from bash's /dev/tcp;" \
  "curl = GET /healthz; $(cut -d' ' -f1-3 /proc/loadavg) load average at the end"
echo "Corral per request (curl's time_total, ms; includes curl's own request handling): median / p90"
for name in "${variants[@]}"; do
  for k in 1 2 3; do
    awk -v k="$k" 'NR % 3 == k % 3 {print $1 * 1000000}' "$work/$name/requests" | tr '\n' ' ' >"$work/req"
    printf '  %-8s %-22s %s\n' "$name" "$(echo "create+start wait remove" | cut -d' ' -f"$k")" \
      "$(stat "$(cat "$work/req")" | awk '{print $1 " / " $2}')"
  done
done
