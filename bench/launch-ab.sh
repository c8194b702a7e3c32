#!/usr/bin/env bash
# A/B of Corral builds on the one-request run (POST /v1/containers?start=true&wait=true&rm=true, /bin/true on a
# busybox rootfs, 64 MiB + 0.5 CPU, five namespaces), sent by bash itself over TCP as launch-vs-runc-crun.sh's
# NAME-tcp is, and crun run alongside for reference. Timed with bash's $EPOCHREALTIME: launch-vs-runc-crun.sh forks
# `date` twice per sample, which adds 1-2 ms of process creation to every tool's time and most of the noise when
# the machine is busy. The builds take turns in each round (order alternating), so each round gives a paired
# difference; its median is printed with the medians.
#   sudo LAUNCH_JARS="base=/tmp/base.jar new=agent/target/corral.jar" bench/launch-ab.sh [ROUNDS]
set -euo pipefail
rounds=${1:-300}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/corral-bench-ab.XXXXXX)
parent=/corral-bench-ab-$$
oci=corral-bench-ab-oci
# shellcheck source=launch-common.sh
. "$repo/bench/launch-common.sh"
trap launch_cleanup EXIT INT TERM
launch_need crun runc busybox jq
[ -n "${LAUNCH_JARS:-}" ] || { echo "set LAUNCH_JARS=\"a=JAR b=JAR\"" >&2; exit 2; }
launch_bundle
launch_start_daemons "$LAUNCH_JARS"
declare -A samples

us() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) )); }

# Warm-up (the JIT compiles the launch path over the first tens of runs); each run must succeed.
for w in $(seq 300); do
  for name in "${variants[@]}"; do corral_tcp "$name" "w$w" || { echo "$name: the run failed" >&2; exit 1; }; done
done
crun_run w >/dev/null 2>&1 || { echo "crun run failed" >&2; exit 1; }
for i in $(seq "$rounds"); do
  order=("${variants[@]}")
  if (( i % 2 )); then order=(); for ((k = ${#variants[@]} - 1; k >= 0; k--)); do order+=("${variants[k]}"); done; fi
  for name in "${order[@]}"; do samples[$name]+="$(us corral_tcp "$name" "$i") "; done
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
