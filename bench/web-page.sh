#!/usr/bin/env bash
# What open web pages cost the agent (docs/benchmarks.md, "The web page"): the agent's CPU at N cgroups without a
# page, with P headless chromium pages open on it (each gets the live stream: one frame a cycle), and without
# again (the drift of a shared machine shows between the two "off" phases).
#
#   sudo bench/web-page.sh [--cgroups 100] [--pages 3] [--warmup 30] [--window 60]
#
# Makes /corral-bench-web/c1..cN in every hierarchy the agent reads (5 with a sleeper), runs `bin/corral serve
# --interval 1s` with the container runtime on (state, socket and parent cgroup private to the run) inside a
# cpuacct cgroup of its own, and reads that cgroup's cpuacct.usage (every thread of the JVM, to the nanosecond)
# over each --window after a --warmup. Chromium runs outside that cgroup. Everything made is removed on exit.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=100 pages=3 warmup=30 window=60
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --pages) pages=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--pages P] [--warmup S] [--window S]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }
chromium=/usr/lib/chromium/chromium
[ -x "$chromium" ] || { echo "needs Debian's chromium" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
bench_workdir corral-web
log() { echo "[$(date +%T)] $*" >&2; }
bench_jar "$repo" "$work"
bench_make_tree corral-bench-web "$n"
bench_start_sleepers corral-bench-web 5
bench_meas_cgroup corral-bench-meas-web
meas=$BENCH_MEAS_DIR
bench_runtime_flags corral-bench-web-parent "$work/state"

sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$meas" \
  "$repo/bin/corral" serve $BENCH_RUNTIME_FLAGS --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-web \
  2>"$work/err" &
pid=$!
BENCH_PIDS+=("$pid")
port=$(bench_wait_agent "$work/err" "$pid" "" 600) || exit 1
url=http://127.0.0.1:$port/

# measure NAME: agent CPU (ms per s) over the window after the warm-up, then its threads' (ticks: 10 ms, so one
# tick in a 60 s window is 0.17 ms/s): the event loop and corral-web serve the pages, VM_Thread is GC; the
# collector's share grows with the machine's load, pages or not.
measure() {
  sleep "$warmup"
  local c0 c1 t0 t1
  bench_thread_ticks "$pid" >"$work/ticks0"; c0=$(cat "$meas/cpuacct.usage"); t0=$(date +%s.%N)
  sleep "$window"
  bench_thread_ticks "$pid" >"$work/ticks1"; c1=$(cat "$meas/cpuacct.usage"); t1=$(date +%s.%N)
  printf '%-28s %6.2f ms/s (%5.2f %% of a core), %d streams open, load average %s\n' "$1" \
    "$(echo "($c1 - $c0) / 1000000 / ($t1 - $t0)" | bc -l)" "$(echo "($c1 - $c0) / 10000000 / ($t1 - $t0)" | bc -l)" \
    "$(ss -Htn state established "( sport = :$port )" | wc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  join -a 2 -e 0 -o 0,1.2,2.2 "$work/ticks0" "$work/ticks1" \
    | awk -v hz="$(getconf CLK_TCK)" -v s="$(echo "$t1 - $t0" | bc -l)" \
      '{d = ($3 - $2) * 1000 / hz / s; if (d > 0) printf "    %6.2f ms/s  %s\n", d, $1}' | sort -rn | head -6
}

echo "# web-page $(date -u +%Y-%m-%dT%H:%MZ): $n cgroups, $pages pages, warm-up ${warmup}s, window ${window}s; $BENCH_JAR_INFO"
log "agent pid $pid at $url; no page"
measure "no page"
browsers=()
for i in $(seq "$pages"); do
  "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/chromium$i" \
    --remote-debugging-port=0 "$url" >/dev/null 2>&1 &
  browsers+=("$!")
  BENCH_PIDS+=("$!")
done
log "$pages pages open"
measure "$pages pages open"
for b in "${browsers[@]}"; do kill -TERM "$b" 2>/dev/null || true; done
for b in "${browsers[@]}"; do wait "$b" 2>/dev/null || true; done
log "pages closed"
measure "no page again"
