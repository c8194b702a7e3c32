#!/usr/bin/env bash
# The agent's RSS, CPU and scrape latency under different JVM flag sets, side by side on one tree of N real
# cgroups (docs/benchmarks.md, "JVM flags"). Flag sets run interleaved, --rounds times each, so load from
# other work on the machine hits them alike; the script prints each run and the median per set.
#
#   sudo bench/jvm-flags.sh [--cgroups 1000] [--warmup 30] [--window 20] [--scrapes 10] [--rounds 2] \
#       [--runtime] [--scrape-gap 0.2] [--set 'NAME=ENV... -- JAVA OPTS']...
#
# A set is a name, optional environment assignments (e.g. MALLOC_ARENA_MAX=2) and the java options, which
# replace bin/corral's defaults through CORRAL_JAVA_OPTS; "default" runs bin/corral's own defaults. Each run:
# `bin/corral serve --monitor-only` (with --runtime: the container runtime on too, no containers, its state,
# socket and parent cgroup corral-bench-flags-parent private to the run) in its own cpuacct cgroup, warm-up, CPU over a window without scrapes,
# then --scrapes scrapes --scrape-gap seconds apart (median and max latency), then VmRSS and VmHWM. The agent
# renders the container metrics once per collection cycle: with a gap of 0.2 s at the 1 s interval most scrapes
# get the bytes already rendered; a gap longer than the interval makes every scrape render. A set may name
# another jar with CORRAL_JAR=... among its environment assignments, to compare builds in one run.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=1000 warmup=30 window=20 scrapes=10 rounds=2 runtime= gap=0.2
sets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --set) sets+=("$2"); shift 2 ;;
    --runtime) runtime=1; shift ;;
    --scrape-gap) gap=$2; shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--warmup S] [--window S] [--scrapes K] [--rounds R] [--set 'NAME=ENV.. -- OPTS']..." >&2; exit 2 ;;
  esac
done
[ ${#sets[@]} -gt 0 ] || sets=("default=")
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
bench_workdir corral-flags
log() { echo "[$(date +%T)] $*" >&2; }
busy_jiffies() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
hz=$(getconf CLK_TCK)
cpus=$(nproc)

bench_jar "$repo" "$work"
echo "# jvm-flags $(date -u +%Y-%m-%dT%H:%MZ): $n cgroups, warm-up ${warmup}s, window ${window}s, $scrapes scrapes ${gap}s apart, $rounds rounds${runtime:+, runtime on}; $BENCH_JAR_INFO; load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench_make_tree corral-bench-flags "$n"
bench_start_sleepers corral-bench-flags 5
bench_meas_cgroup corral-bench-meas-flags
meas=$BENCH_MEAS_DIR
serve_flags=--monitor-only
if [ -n "$runtime" ]; then
  bench_runtime_flags corral-bench-flags-parent "$work/state"
  serve_flags=$BENCH_RUNTIME_FLAGS
fi

# run_set SPEC: prints "name cpu_ms_s other% scrape_med scrape_max rss hwm"
run_set() {
  local spec=$1 name rest envs opts pid port url i c0 c1 t0 t1 b0 b1
  name=${spec%%=*}
  rest=${spec#*=}
  envs=() opts=
  if [[ $rest == *--* ]]; then
    read -r -a envs <<<"${rest%%--*}"
    opts=${rest#*--}
  fi
  : >"$work/err"
  env "${envs[@]}" ${opts:+CORRAL_JAVA_OPTS="$opts"} sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$meas" \
    "$repo/bin/corral" serve $serve_flags --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-flags \
    2>"$work/err" &
  pid=$!
  BENCH_PIDS+=("$pid")
  port=$(bench_wait_agent "$work/err" "$pid" 2>/dev/null) || { echo "$name failed: $(tail -1 "$work/err")"; return 0; }
  url="http://127.0.0.1:$port/metrics"
  sleep "$warmup"
  curl -s -o /dev/null "$url"
  sleep 1
  c0=$(cat "$meas/cpuacct.usage"); b0=$(busy_jiffies); t0=$(date +%s.%N)
  sleep "$window"
  c1=$(cat "$meas/cpuacct.usage"); b1=$(busy_jiffies); t1=$(date +%s.%N)
  : >"$work/lat"
  for ((i = 0; i < scrapes; i++)); do
    curl -s -o /dev/null -w '%{time_total}\n' "$url" >>"$work/lat"
    sleep "$gap"
  done
  printf '%-14s %8.2f %6.0f %8.1f %8.1f %7.1f %7.1f\n' "$name" \
    "$(echo "($c1 - $c0) / 1000000 / ($t1 - $t0)" | bc -l)" \
    "$(echo "(($b1 - $b0) / $hz - ($c1 - $c0) / 1000000000) * 100 / (($t1 - $t0) * $cpus)" | bc -l)" \
    "$(sort -g "$work/lat" | awk '{v[NR] = $1 * 1000} END {print v[int((NR + 1) / 2)]}')" \
    "$(sort -g "$work/lat" | tail -1 | awk '{print $1 * 1000}')" \
    "$(awk '/^VmRSS/ {print $2 / 1024}' "/proc/$pid/status")" \
    "$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$pid/status")"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

printf '%-14s %8s %6s %8s %8s %7s %7s\n' set cpu_ms/s other% scr_med scr_max RSS HWM | tee "$work/rows"
for ((r = 1; r <= rounds; r++)); do
  for s in "${sets[@]}"; do
    log "round $r: ${s%%=*} (load average $(cut -d" " -f1-3 /proc/loadavg))"
    run_set "$s" >"$work/row" # not in a pipeline: the agent's PID must reach this shell's cleanup list
    tee -a "$work/rows" <"$work/row"
  done
done
echo
echo "medians per set (cpu_ms/s = agent CPU per second without scrapes; other% = the rest of the machine, % of"
echo "$cpus cores; scr_med/scr_max = /metrics latency ms; RSS/HWM = VmRSS/VmHWM MiB after the scrapes):"
med() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
for s in "${sets[@]}"; do
  name=${s%%=*}
  awk -v n="$name" '$1 == n && $2 != "failed:"' "$work/rows" >"$work/set"
  printf '  %-14s cpu %s ms/s, scrape median %s ms (max %s), RSS %s MiB (HWM %s); %d runs\n' "$name" \
    "$(awk '{print $2}' "$work/set" | med)" "$(awk '{print $4}' "$work/set" | med)" \
    "$(awk '{print $5}' "$work/set" | med)" "$(awk '{print $6}' "$work/set" | med)" \
    "$(awk '{print $7}' "$work/set" | med)" "$(wc -l <"$work/set")"
done
for s in "${sets[@]}"; do echo "  set $s"; done
