#!/usr/bin/env bash
# Which of the agent's threads use its CPU when nothing scrapes it (docs/benchmarks.md, "Scrape, RSS and idle cost"): the idle cost
# that dominates at 100 cgroups.
#
#   sudo bench/thread-cpu.sh [--cgroups 100] [--warmup 60] [--window 60] [--monitor-only] \
#       [--jar 'NAME=PATH [EXTRA JAVA OPTS]']...
#
# Makes /corral-bench-threads/c1..cN in every hierarchy the agent reads, then for each jar (default: the built
# one; several --jar run one after the other, each with the same tree; java options after the path are added to
# bin/corral's defaults through CORRAL_EXTRA_JAVA_OPTS) runs `bin/corral serve --interval 1s`
# with the container runtime on (no containers; its state, socket and parent cgroup corral-bench-threads-parent
# private to the run) or --monitor-only, waits --warmup seconds and reads utime+stime of every thread
# (/proc/PID/task/*/stat) and of the whole process, plus the CPU of its children (corral-shim spawner) through
# its own cpuacct cgroup, before and after a --window without scrapes. Prints ms of CPU per second per thread
# name (threads of one pool summed), largest first. Every cgroup made is removed on exit.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=100 warmup=60 window=60 monitor= jars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --monitor-only) monitor=1; shift ;;
    --jar) jars+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--warmup S] [--window S] [--monitor-only] [--jar NAME=PATH]..." >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
bench_workdir corral-threads
log() { echo "[$(date +%T)] $*" >&2; }
hz=$(getconf CLK_TCK)
bench_jar "$repo" "$work"
[ ${#jars[@]} -gt 0 ] || jars=("built=$CORRAL_JAR")
bench_make_tree corral-bench-threads "$n"
bench_start_sleepers corral-bench-threads 5
bench_meas_cgroup corral-bench-meas-threads
meas=$BENCH_MEAS_DIR
flags=--monitor-only


echo "# thread-cpu $(date -u +%Y-%m-%dT%H:%MZ): $n cgroups, ${monitor:+monitor-only, }warm-up ${warmup}s, window ${window}s; $BENCH_JAR_INFO"
for spec in "${jars[@]}"; do
  name=${spec%%=*} jar=${spec#*=} extra=
  if [[ $jar == *" "* ]]; then extra=${jar#* }; jar=${jar%% *}; fi
  if [ -z "$monitor" ]; then
    bench_runtime_flags corral-bench-threads-parent "$work/state-$name"
    flags=$BENCH_RUNTIME_FLAGS
  fi
  : >"$work/err"
  CORRAL_JAR=$jar CORRAL_EXTRA_JAVA_OPTS="$extra" sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$meas" \
    "$repo/bin/corral" serve $flags --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-threads 2>"$work/err" &
  pid=$!
  BENCH_PIDS+=("$pid")
  bench_wait_agent "$work/err" "$pid" >/dev/null 2>&1 || { echo "$name failed: $(tail -1 "$work/err")"; continue; }
  log "$name ($jar${extra:+ $extra}): pid $pid, warm-up ${warmup}s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  sleep "$warmup"
  bench_thread_ticks "$pid" >"$work/t0"; c0=$(cat "$meas/cpuacct.usage"); t0=$(date +%s.%N)
  sleep "$window"
  bench_thread_ticks "$pid" >"$work/t1"; c1=$(cat "$meas/cpuacct.usage"); t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc -l)
  echo
  printf '%s: %.2f ms/s for the whole cgroup (JVM + children), %d threads, load average %s\n' "$name" \
    "$(echo "($c1 - $c0) / 1000000 / $secs" | bc -l)" "$(ls /proc/"$pid"/task | wc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  join -a 2 -e 0 -o 0,1.2,2.2 "$work/t0" "$work/t1" \
    | awk -v hz="$hz" -v s="$secs" '{d = ($3 - $2) * 1000 / hz / s; if (d > 0) printf "  %8.2f ms/s  %s\n", d, $1}' \
    | sort -rn
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
done
