#!/usr/bin/env bash
# Container launch latency, side by side in one run: Corral (through its daemon's API), runc, crun and raw
# unshare, each running /bin/true on the same busybox rootfs with pid/mount/uts/ipc/net namespaces and
# 64 MiB memory + 0.5 CPU limits. Prints medians, p90 and ratios to crun, and Corral's time per request.
#   sudo bench/launch-vs-runc-crun.sh [RUNS]        (needs: a built agent jar, runc, crun, busybox)
#   sudo LAUNCH_JARS="base=/tmp/old.jar new=agent/target/corral.jar" bench/launch-vs-runc-crun.sh 40
# LAUNCH_JARS runs one daemon per jar (own state dir, socket and parent cgroup), interleaved with the peers, to
# compare builds side by side; by default one daemon runs agent/target/corral.jar as "corral".
# Each daemon is timed two ways when its build has it: NAME = POST run + POST wait + DELETE (three requests), and
# NAME-1req = POST /v1/containers?start=true&wait=true&rm=true (one request: create, start, wait and remove, as
# `crun run` and `docker run --rm` do in one call), and NAME-tcp = that one request sent by bash itself over TCP
# (/dev/tcp, bearer token), so no client process is started: the daemon's own latency, which a long-lived client
# (an orchestrator) sees. "curl" times an empty request (GET /healthz): the client process alone.
set -euo pipefail
runs=${1:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/corral-bench-launch.XXXXXX)
parent=/corral-bench-launch-$$
oci=corral-bench-oci
# shellcheck source=launch-common.sh
. "$repo/bench/launch-common.sh"
trap launch_cleanup EXIT INT TERM
launch_need runc crun busybox curl jq
launch_bundle
launch_start_daemons "${LAUNCH_JARS:-corral=$repo/agent/target/corral.jar}"

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
curl_floor() { curl -sf -o /dev/null --unix-socket "$work/$1/corral.sock" http://x/healthz; }
runc_run() { runc run --bundle "$work/bundle" "r$1"; }
raw_run() { unshare --fork --pid --mount --uts --ipc --net --mount-proc /bin/true; }

# Every tool must really run /bin/true before anything is timed.
check() { "$@" >"$work/check.out" 2>&1 || { echo "launch check failed: $*" >&2; cat "$work/check.out" >&2; exit 1; }; }
check runc_run 0
check crun_run 0
check raw_run
onereq=()
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
