#!/usr/bin/env bash
# The agent's collection cost against a C "raw reader" (raw-reader.c) reading the same files of the same real
# cgroups, plus /metrics latency and size and the agent's RSS. Results: docs/benchmarks.md.
#
#   sudo bench/collector-vs-raw.sh [--sizes "100 1000"] [--warmup 15] [--window 30] [--scrapes 20]
#       [--rescans "60"] [--raw-flags "--legacy"]
#
# For each size N it makes N cgroups corral-bench-N/c1..cN in every hierarchy the agent reads (v1 cpu, cpuacct,
# memory, blkio, pids, and the cgroup2 mount), puts a `sleep` in a few of them (after a 4 KiB O_DIRECT read, so
# they have CPU, memory, pids and blkio numbers), and then:
#   - runs `bin/corral serve --interval 1s --cgroup-root /corral-bench-N` once per --rescans value (default 60,
#     the agent's default since inotify-driven discovery; the first runs of docs/benchmarks.md used "1 10"), each inside its own cpuacct cgroup (cpuacct.usage counts every thread to the ns); after
#     the warm-up it measures, over a window with no scrapes, the process CPU (cpuacct.usage and
#     /proc/PID/stat utime+stime) and the mean cycle duration (corral_collection_duration_seconds_sum/_count,
#     scraped just before and just after the window), GC and JIT activity (jstat, no attach); then the first
#     /metrics scrape's latency, the median and p95 of --scrapes scrapes after 5 unmeasured ones, the CPU per
#     scrape, the body size and series count; and VmRSS/VmHWM at the end;
#   - runs the raw reader for --window cycles at a 1 s interval (same CPU accounting) and 200 cycles
#     back to back; --raw-flags go to it (--legacy: every file kept open and the limits read every cycle, what
#     the agent did before it read limits every 10 cycles);
#   - prints a table, the agent/raw ratios and pass/fail against the targets.
# A size whose files do not fit under the open-files hard limit (the agent keeps every file open) is tried,
# its failure recorded, and replaced by the largest size that fits, rounded down to 50.
# Every cgroup made is removed on exit (trap on EXIT, INT, TERM), processes inside first.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
sizes="100 1000"
warmup=15
window=30
scrapes=20
sleepers=5
rescans=60
raw_flags=
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --sleepers) sleepers=$2; shift 2 ;;
    --rescans) rescans=$2; shift 2 ;;
    --raw-flags) raw_flags=$2; shift 2 ;;
    *) echo "usage: $0 [--sizes \"100 1000\"] [--warmup S] [--window S] [--scrapes N] [--sleepers K]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }
main=${rescans%% *} # the rescan setting the targets are judged on

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
bench_workdir corral-bench

log() { echo "[$(date +%T)] $*" >&2; }
now() { date +%s.%N; }

bench_jar "$repo" "$work"
monitor_flags=$(bench_monitor_flags)
gcc -O2 -Wall -o "$work/raw-reader" "$here/raw-reader.c"

hz=$(getconf CLK_TCK)
nofile=$(ulimit -Hn)
cpus=$(nproc)
log "machine: $cpus cores, $(uname -r), nofile hard limit $nofile, $(java -version 2>&1 | head -1)"
log "$BENCH_JAR_INFO; serve flags: ${monitor_flags:-(none)}"

make_meas() {
  bench_meas_cgroup corral-bench-meas-agent; meas_agent=$BENCH_MEAS_DIR
  bench_meas_cgroup corral-bench-meas-raw; meas_raw=$BENCH_MEAS_DIR
}
make_meas

cg_ns() { cat "$1/cpuacct.usage"; }
# Busy jiffies of the whole machine (all cores): to report how much else ran during a window.
busy_jiffies() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# other_load BUSY0 BUSY1 SECONDS OWN_CPU_S: % of all cores used by everything but the measured process.
other_load() { echo "(($2 - $1) / $hz - $4) * 100 / ($3 * $cpus)" | bc -l; }
stat_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { # file name -> value
  awk -v m="$2" '$1 == m {print $2; found = 1} END {if (!found) print "NaN"}' "$1"
}
pctl() { # p file -> the p-th percentile (nearest rank) of the numbers in file
  sort -g "$2" | awk -v p="$1" '{v[NR] = $1} END {i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print v[i]}'
}

# run_agent N RESCAN [full]: one agent run; appends "key=value" lines to $work/agent-N-RESCAN[-full].
# Default: the observer alone ($monitor_flags). "full": with the container runtime on (no containers), its
# state, socket and parent cgroup (corral-bench-parent, removed on exit) kept to this benchmark.
run_agent() {
  local n=$1 rescan=$2 mode=${3:-} flags=$monitor_flags h
  local out="$work/agent-$1-$2${3:+-$3}" err="$work/agent-$1-$2${3:+-$3}.err" pid port url i
  if [ "$mode" = full ]; then
    bench_runtime_flags corral-bench-parent "$work/state"
    flags=$BENCH_RUNTIME_FLAGS
  fi
  : >"$out"
  : >"$err"
  # Started inside the measurement cgroup: the shell joins it, then execs bin/corral, which execs java.
  sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$meas_agent" \
    "$repo/bin/corral" serve --listen 127.0.0.1:0 --interval 1s --cgroup-root "/corral-bench-$n" \
    --rescan-every "$rescan" $flags 2>"$err" &
  pid=$!
  BENCH_PIDS+=("$pid")
  if ! port=$(bench_wait_agent "$err" "$pid" 2>/dev/null); then
    wait "$pid" 2>/dev/null && rc=0 || rc=$?
    echo "failed=exit $rc: $(grep -m1 'corral:' "$err" || tail -1 "$err")" >>"$out"
    return 0
  fi
  url="http://127.0.0.1:$port/metrics"
  echo "fds=$(ls "/proc/$pid/fd" | wc -l)" >>"$out"
  sleep "$warmup"

  # Cycle counters just before and after a window without scrapes.
  local c0 t0 k0 b0 c1 t1 k1 b1 first
  first=$(curl -s -o "$work/m0" -w '%{time_total}' "$url")
  sleep 1
  jstat -compiler "$pid" | tail -1 >"$work/jc0"; jstat -gc "$pid" | tail -1 >"$work/gc0"
  c0=$(cg_ns "$meas_agent"); k0=$(stat_ticks "$pid"); b0=$(busy_jiffies); t0=$(now)
  sleep "$window"
  c1=$(cg_ns "$meas_agent"); k1=$(stat_ticks "$pid"); b1=$(busy_jiffies); t1=$(now)
  jstat -compiler "$pid" | tail -1 >"$work/jc1"; jstat -gc "$pid" | tail -1 >"$work/gc1"
  curl -s -o "$work/m1" "$url"
  local n0 s0 n1 s1
  n0=$(metric "$work/m0" corral_collection_duration_seconds_count)
  s0=$(metric "$work/m0" corral_collection_duration_seconds_sum)
  n1=$(metric "$work/m1" corral_collection_duration_seconds_count)
  s1=$(metric "$work/m1" corral_collection_duration_seconds_sum)
  {
    echo "watched=$(metric "$work/m1" corral_cgroups_watched)"
    echo "read_errors=$(metric "$work/m1" corral_read_errors_total)"
    echo "window_s=$(echo "$t1 - $t0" | bc -l)"
    echo "cpu_s=$(echo "($c1 - $c0) / 1000000000" | bc -l)"
    echo "other_load_pct=$(other_load "$b0" "$b1" "$(echo "$t1 - $t0" | bc -l)" "$(echo "($c1 - $c0) / 1000000000" | bc -l)")"
    echo "stat_cpu_s=$(echo "($k1 - $k0) / $hz" | bc -l)"
    echo "cycles=$(echo "$n1 - $n0" | bc -l)"
    echo "cycle_ms=$(echo "($s1 - $s0) * 1000 / ($n1 - $n0)" | bc -l)"
    echo "cycle_max_ms=$(echo "$(metric "$work/m1" corral_collection_duration_seconds_max) * 1000" | bc -l)"
    # jstat -compiler: Compiled Failed Invalid Time ...; jstat -gc: ... YGC YGCT FGC FGCT ... GCT
    echo "jit_compiles=$(( $(awk '{print $1}' "$work/jc1") - $(awk '{print $1}' "$work/jc0") ))"
    echo "jit_s=$(echo "$(awk '{print $4}' "$work/jc1") - $(awk '{print $4}' "$work/jc0")" | bc -l)"
    echo "young_gcs=$(echo "$(awk '{print $(NF-6)}' "$work/gc1") - $(awk '{print $(NF-6)}' "$work/gc0")" | bc -l)"
    echo "gc_s=$(echo "$(awk '{print $NF}' "$work/gc1") - $(awk '{print $NF}' "$work/gc0")" | bc -l)"
    echo "first_scrape_ms=$(echo "$first * 1000" | bc -l)"
  } >>"$out"

  # Scrapes: 5 unmeasured, then the measured ones, 0.2 s apart; CPU per scrape net of the idle rate.
  for i in 1 2 3 4 5; do curl -s -o /dev/null "$url"; sleep 0.2; done
  : >"$work/lat"
  local cs0 cs1 ts0 ts1 bytes
  cs0=$(cg_ns "$meas_agent"); ts0=$(now)
  for ((i = 0; i < scrapes; i++)); do
    curl -s -o "$work/body" -w '%{time_total} %{size_download}\n' "$url" >>"$work/lat"
    sleep 0.2
  done
  cs1=$(cg_ns "$meas_agent"); ts1=$(now)
  awk '{print $1 * 1000}' "$work/lat" >"$work/lat-ms"
  bytes=$(awk '{print $2}' "$work/lat" | sort -n | tail -1)
  {
    echo "scrape_median_ms=$(pctl 50 "$work/lat-ms")"
    echo "scrape_p95_ms=$(pctl 95 "$work/lat-ms")"
    echo "scrape_max_ms=$(pctl 100 "$work/lat-ms")"
    echo "scrape_cpu_ms=$(echo "(($cs1 - $cs0) / 1000000000 - ($c1 - $c0) / 1000000000 / ($t1 - $t0) * ($ts1 - $ts0)) * 1000 / $scrapes" | bc -l)"
    echo "body_bytes=$bytes"
    echo "series=$(grep -cv '^#' "$work/body")"
    echo "container_series=$(grep -c '^container_' "$work/body")"
    echo "rss_mib=$(awk '/^VmRSS/ {print $2 / 1024}' "/proc/$pid/status")"
    echo "hwm_mib=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$pid/status")"
  } >>"$out"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

# run_raw N: the raw reader at a 1 s interval (window cycles) in its cgroup, then back to back.
run_raw() {
  local n=$1 out="$work/raw-$1" c0 c1 b0 b1 t0 t1 line
  : >"$out"
  c0=$(cg_ns "$meas_raw"); b0=$(busy_jiffies); t0=$(now)
  if ! line=$(sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$meas_raw" \
      "$work/raw-reader" --root "/corral-bench-$n" --cycles "$window" --interval-ms 1000 --quiet $raw_flags 2>&1); then
    echo "failed=$line" >>"$out"
    return 0
  fi
  c1=$(cg_ns "$meas_raw"); b1=$(busy_jiffies); t1=$(now)
  echo "$line" | tr ' ' '\n' | grep '=' >>"$out"
  echo "cg_cpu_s=$(echo "($c1 - $c0) / 1000000000" | bc -l)" >>"$out"
  echo "other_load_pct=$(other_load "$b0" "$b1" "$(echo "$t1 - $t0" | bc -l)" "$(echo "($c1 - $c0) / 1000000000" | bc -l)")" >>"$out"
  "$work/raw-reader" --root "/corral-bench-$n" --cycles 200 --back-to-back --quiet $raw_flags | tr ' ' '\n' \
    | grep -E '^cycle_(cpu|wall)_us_(mean|median)=' | sed 's/^/b2b_/' >>"$out"
}

get() { awk -F= -v k="$2" '$1 == k {print $2}' "$1"; }
f2() { printf '%.*f' "${2:-2}" "$1"; }

measured=()
for n in $sizes; do
  log "N=$n: making the tree"
  bench_make_tree "corral-bench-$n" "$n"
  bench_start_sleepers "corral-bench-$n" "$sleepers"
  sleep 1
  log "N=$n: raw reader"
  run_raw "$n"
  if [ -n "$(get "$work/raw-$n" failed)" ]; then
    log "N=$n: raw reader failed: $(get "$work/raw-$n" failed)"
    log "N=$n: agent (expected to fail the same way)"
    run_agent "$n" "$main"
    log "N=$n: agent: $(get "$work/agent-$n-$main" failed)"
    # files the agent opens for one cgroup without IO (the raw reader opens the same ones)
    fpc=$("$work/raw-reader" "/corral-bench-$n/c$n" --cycles 1 --back-to-back --quiet | tr ' ' '\n' \
      | awk -F= '$1 == "files_open" {print $2}')
    fit=$(( (nofile - 200) / fpc / 50 * 50 ))
    echo "$n $fpc $fit" >>"$work/too-big"
    bench_cleanup
    make_meas
    log "N=$n needs $(( (n + 1) * fpc )) open files > $nofile; measuring N=$fit instead"
    n=$fit
    bench_make_tree "corral-bench-$n" "$n"
    bench_start_sleepers "corral-bench-$n" "$sleepers"
    sleep 1
    run_raw "$n"
  fi
  for rescan in $rescans; do
    log "N=$n: agent --rescan-every $rescan (warm-up ${warmup}s, window ${window}s, $scrapes scrapes)"
    run_agent "$n" "$rescan"
  done
  if [ ${#measured[@]} -eq 0 ] && [ -n "$monitor_flags" ]; then
    log "N=$n: agent with the container runtime on (no containers), --rescan-every $main"
    run_agent "$n" "$main" full
  fi
  measured+=("$n")
  bench_cleanup
  make_meas
done

# ---- report ----
row() { printf '%-5s %-9s %7s %6s %9s %7s %8s %9s %8s %7s %6s %8s %8s %8s %8s %6s %6s %6s\n' "$@"; }
echo
echo "# collector-vs-raw $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $cpus cores, kernel $(uname -r), $(java -version 2>&1 | head -1)"
echo "# warm-up ${warmup}s, window ${window}s at --interval 1s, $scrapes scrapes, $sleepers cgroups with a sleep"
echo "# $BENCH_JAR_INFO"
if [ -f "$work/too-big" ]; then
  while read -r n fpc fit; do
    echo "# N=$n does not fit: $(( (n + 1) * fpc )) files (${fpc}/cgroup) > nofile hard limit $nofile."
    echo "#   raw reader: $(get "$work/raw-$n" failed)"
    echo "#   agent:      $(get "$work/agent-$n-$main" failed)"
    echo "#   measured N=$fit instead."
  done <"$work/too-big"
fi
echo
row N who cgroups other% cpu_ms/s core% stat_ms cycle_ms cyc_max jit_s gc_s scrape1 scr_med scr_p95 scr_cpu KiB series RSS
for n in "${measured[@]}"; do
  r="$work/raw-$n"
  rcpu=$(echo "$(get "$r" process_cpu_s) * 1000 / $(get "$r" elapsed_s)" | bc -l)
  row "$n" raw-1s "$(get "$r" cgroups)" "$(f2 "$(get "$r" other_load_pct)" 0)" "$(f2 "$rcpu" 3)" \
    "$(f2 "$(echo "$rcpu / 10" | bc -l)" 3)" - \
    "$(f2 "$(echo "$(get "$r" cycle_wall_us_mean) / 1000" | bc -l)" 3)" \
    - - - - - - - - - -
  row "$n" raw-b2b "$(get "$r" cgroups)" - - - - "$(f2 "$(echo "$(get "$r" b2b_cycle_wall_us_mean) / 1000" | bc -l)" 3)" \
    - - - - - - - - - -
  for v in $rescans $main-full; do
    a="$work/agent-$n-$v"
    [ -f "$a" ] || continue
    label="agent-r${v/-full/+rt}"
    if [ -n "$(get "$a" failed)" ]; then echo "$n $label failed: $(get "$a" failed)"; continue; fi
    acpu=$(echo "$(get "$a" cpu_s) * 1000 / $(get "$a" window_s)" | bc -l)
    row "$n" "$label" "$(f2 "$(get "$a" watched)" 0)" "$(f2 "$(get "$a" other_load_pct)" 0)" "$(f2 "$acpu" 3)" \
      "$(f2 "$(echo "$acpu / 10" | bc -l)" 3)" \
      "$(f2 "$(echo "$(get "$a" stat_cpu_s) * 1000 / $(get "$a" window_s)" | bc -l)" 1)" \
      "$(f2 "$(get "$a" cycle_ms)" 3)" "$(f2 "$(get "$a" cycle_max_ms)" 1)" "$(f2 "$(get "$a" jit_s)" 3)" \
      "$(f2 "$(get "$a" gc_s)" 3)" "$(f2 "$(get "$a" first_scrape_ms)" 1)" "$(f2 "$(get "$a" scrape_median_ms)" 1)" \
      "$(f2 "$(get "$a" scrape_p95_ms)" 1)" "$(f2 "$(get "$a" scrape_cpu_ms)" 1)" \
      "$(( $(get "$a" body_bytes) / 1024 ))" "$(get "$a" series)" "$(f2 "$(get "$a" rss_mib)" 1)"
  done
done
echo
echo "columns: other% = CPU used by everything else on the machine during the window, % of all $cpus cores;"
echo "cpu_ms/s = process CPU per second (agent: its cpuacct cgroup; raw: getrusage); core% = % of one core;"
echo "stat_ms = the same from /proc/PID/stat (10 ms ticks); cycle_ms = mean collection cycle (agent:"
echo "corral_collection_duration_seconds sum/count deltas; raw: wall time of its read loop); cyc_max = that"
echo "metric's max; jit_s/gc_s = JIT compile and GC time in the window (jstat); scrape1 = the first /metrics"
echo "scrape (ms); scr_med/scr_p95 = median/p95 of the measured scrapes (ms); scr_cpu = agent CPU per scrape net"
echo "of collection (ms); KiB = body size; series = sample lines; RSS = VmRSS (MiB) at the end."
echo "agent-r1/-r10: --rescan-every 1/10 ${monitor_flags:+with $monitor_flags}; agent-r1+rt: the container runtime on too"
echo "(no containers; state, socket and parent cgroup private to this run)."
echo
for n in "${measured[@]}"; do
  r="$work/raw-$n"; a1="$work/agent-$n-$main"; a10="$work/agent-$n-10"
  [ -z "$(get "$a1" failed)" ] || continue
  if [ "$rescans" != "1 10" ]; then
    rcpu=$(echo "$(get "$r" process_cpu_s) / $(get "$r" elapsed_s)" | bc -l)
    a1cpu=$(echo "$(get "$a1" cpu_s) / $(get "$a1" window_s)" | bc -l)
    echo "N=$n ratios (--rescan-every $main):"
    echo "  agent/raw process CPU per second: $(f2 "$(echo "$a1cpu / $rcpu" | bc -l)")x"
    echo "  agent/raw cycle duration:         $(f2 "$(echo "$(get "$a1" cycle_ms) * 1000 / $(get "$r" cycle_wall_us_mean)" | bc -l)")x"
    echo "  per cgroup and cycle: agent CPU $(f2 "$(echo "$a1cpu * 1000000 / $(get "$a1" watched)" | bc -l)" 1) us, raw $(f2 "$(echo "$rcpu * 1000000 / $(get "$r" cgroups)" | bc -l)" 1) us"
    echo "  files: raw keeps $(get "$r" files_open) open, opens $(get "$r" files_per_read) per read; the agent has $(get "$a1" fds) fds open"
    continue
  fi
  rcpu=$(echo "$(get "$r" process_cpu_s) / $(get "$r" elapsed_s)" | bc -l)
  a1cpu=$(echo "$(get "$a1" cpu_s) / $(get "$a1" window_s)" | bc -l)
  a10cpu=$(echo "$(get "$a10" cpu_s) / $(get "$a10" window_s)" | bc -l)
  echo "N=$n ratios:"
  echo "  agent/raw process CPU per second: $(f2 "$(echo "$a1cpu / $rcpu" | bc -l)")x with a rescan every cycle, $(f2 "$(echo "$a10cpu / $rcpu" | bc -l)")x every 10"
  echo "  agent/raw cycle duration:         $(f2 "$(echo "$(get "$a1" cycle_ms) * 1000 / $(get "$r" cycle_wall_us_mean)" | bc -l)")x with a rescan every cycle, $(f2 "$(echo "$(get "$a10" cycle_ms) * 1000 / $(get "$r" cycle_wall_us_mean)" | bc -l)")x every 10"
  echo "  one rescan ((r1 - r10) / 0.9): CPU $(f2 "$(echo "($a1cpu - $a10cpu) * 1000 / 0.9" | bc -l)") ms, cycle time $(f2 "$(echo "($(get "$a1" cycle_ms) - $(get "$a10" cycle_ms)) / 0.9" | bc -l)") ms"
  echo "  per cgroup and cycle: agent CPU $(f2 "$(echo "$a1cpu * 1000000 / $(get "$a1" watched)" | bc -l)" 1) us (every 10: $(f2 "$(echo "$a10cpu * 1000000 / $(get "$a10" watched)" | bc -l)" 1) us), raw $(f2 "$(echo "$rcpu * 1000000 / $(get "$r" cgroups)" | bc -l)" 1) us"
  echo "  files: raw opens $(get "$r" files_open) and preads $(get "$r" reads_per_cycle) per cycle; the agent has $(get "$a1" fds) fds open"
  if [ -f "$work/agent-$n-$main-full" ] && [ -z "$(get "$work/agent-$n-$main-full" failed)" ]; then
    echo "  container runtime on (no containers): $(f2 "$(echo "($(get "$work/agent-$n-$main-full" cpu_s) / $(get "$work/agent-$n-$main-full" window_s) - $a1cpu) * 1000" | bc -l)") ms/s more CPU than the observer alone"
  fi
done

verdict() { if [ "$(echo "$1" | bc -l)" -eq 1 ]; then echo PASS; else echo FAIL; fi; }
# x at N=1000 by a straight line through the two largest measured sizes (only used when 1000 did not fit)
extrapolate() { # key
  local a b
  a=${measured[${#measured[@]} - 2]}; b=${measured[${#measured[@]} - 1]}
  echo "$(get "$work/agent-$b-$main" "$1") + ($(get "$work/agent-$b-$main" "$1") - $(get "$work/agent-$a-$main" "$1")) * (1000 - $b) / ($b - $a)" | bc -l
}
echo
echo "targets (agent with --rescan-every $main):"
big=${measured[${#measured[@]} - 1]}
for n in "${measured[@]}"; do
  r="$work/raw-$n"; a1="$work/agent-$n-$main"
  [ -z "$(get "$a1" failed)" ] || continue
  rcpu=$(echo "$(get "$r" process_cpu_s) / $(get "$r" elapsed_s)" | bc -l)
  a1cpu=$(echo "$(get "$a1" cpu_s) / $(get "$a1" window_s)" | bc -l)
  ratio=$(echo "$a1cpu / $rcpu" | bc -l)
  echo "  N=$n: agent <= 1.5x raw reader CPU: $(f2 "$ratio")x -> $(verdict "$ratio <= 1.5")"
  if [ "$n" -eq 100 ]; then
    echo "  N=100: <= 0.5% of one core at 1 s: $(f2 "$(echo "$a1cpu * 100" | bc -l)" 3)% -> $(verdict "$a1cpu * 100 <= 0.5")"
  fi
done
a1="$work/agent-$big-$main"
if [ -z "$(get "$a1" failed)" ]; then
  if [ "$big" -ge 1000 ]; then
    echo "  N=$big: scrape <= 100 ms: median $(get "$a1" scrape_median_ms) ms, p95 $(get "$a1" scrape_p95_ms) ms (first $(f2 "$(get "$a1" first_scrape_ms)" 1) ms) -> $(verdict "$(get "$a1" scrape_p95_ms) <= 100")"
    echo "  N=$big: RSS <= 128 MiB: $(f2 "$(get "$a1" rss_mib)" 1) MiB -> $(verdict "$(get "$a1" rss_mib) <= 128")"
  elif [ -f "$work/too-big" ] && [ ${#measured[@]} -ge 2 ]; then
    echo "  1000 cgroups could not be measured here (open-files limit); at N=$big and by a straight line to 1000:"
    sm=$(extrapolate scrape_median_ms); sp=$(extrapolate scrape_p95_ms); rs=$(extrapolate rss_mib)
    echo "  scrape <= 100 ms: at N=$big median $(f2 "$(get "$a1" scrape_median_ms)" 1) ms, p95 $(f2 "$(get "$a1" scrape_p95_ms)" 1) ms -> $(verdict "$(get "$a1" scrape_p95_ms) <= 100"); extrapolated to 1000: median $(f2 "$sm" 1) ms, p95 $(f2 "$sp" 1) ms -> $(verdict "$sp <= 100")"
    echo "  RSS <= 128 MiB: at N=$big $(f2 "$(get "$a1" rss_mib)" 1) MiB -> $(verdict "$(get "$a1" rss_mib) <= 128"); extrapolated to 1000: $(f2 "$rs" 1) MiB -> $(verdict "$rs <= 128")"
  fi
fi
echo
cp -r "$work" "$work.keep"
echo "raw results (key=value files) kept in $work.keep"
