#!/usr/bin/env bash
# The collector's CPU against the raw reader's, both running AT THE SAME TIME over the same tree, so both see the
# same machine load (docs/benchmarks.md, "Collection"). On a machine shared with other work, runs one after the other
# saw the raw reader's and the agent's kernel time move with the load between them; side by side they do not.
#
#   sudo bench/agent-beside-raw.sh [--cgroups 100] [--busy 0] [--warmup 600] [--window 60] [--rounds 1] \
#       [--scrapes 0] [--idle-empty] [--jar 'NAME=PATH [EXTRA JAVA OPTS]']... [--runtime] [--docker 0]
#   (BENCH_THREADS=1 in the environment: each agent thread's CPU as well)
#
# Makes /corral-bench-pair-N/c1..cN in every hierarchy the agent reads with one process in each: in the first
# --busy of them a ticker (bench/ticker.c: wakes 4 times a second, computes 50 us; its CPU usage moves every
# cycle), a sleeping one in the others (none with --idle-empty, for trees of thousands). Then
# per round and jar: starts `bin/corral serve --monitor-only --interval 1s --cgroup-root /corral-bench-pair-N`
# (--runtime: with the container runtime on, no containers), waits --warmup seconds (the JIT of a daemon that
# works once a second settles after minutes: with C1 only, a method run once per cycle is compiled after about
# 200 cycles and a loop over 100 cgroups after about 600), then runs raw-reader.c (same files, same schedule) at a
# 1 s interval for --window cycles while reading every agent thread's run time (/proc/PID/task/*/schedstat, in
# ns) before and after. Prints agent ms/s (all threads, and the collector thread alone), raw ms/s (getrusage) and
# the ratios; with --scrapes N, then N scrapes of /metrics 1.05 s apart (each renders a new cycle): median and max
# time (curl's time_total) and the body's size; the agent's RSS after them. The mean cycle duration over the window
# comes from corral_collection_duration_seconds (scraped just before and after it). With --docker K: a private
# dockerd (bench/docker-common.sh) and K Docker containers (busybox sleep) under /corral-bench-pair-N/docker, in
# place of K of the synthetic cgroups; the agent follows them (--docker-socket) and the line adds the Docker API
# lookups it made (corral_foreign_lookups_total) in all and during the window. Everything made is removed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
# shellcheck source=docker-common.sh
. "$here/docker-common.sh"

n=100 busy=0 warmup=600 window=60 rounds=1 runtime= scrapes=0 idle_empty= ndocker=0
jars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --busy) busy=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --idle-empty) idle_empty=1; shift ;;
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --jar) jars+=("$2"); shift 2 ;;
    --runtime) runtime=1; shift ;;
    --docker) ndocker=$2; shift 2 ;;
    *) sed -n '2,28p' "$0" >&2; exit 2 ;;
  esac
done
[ ${#jars[@]} -gt 0 ] || jars=("default=$repo/agent/target/corral.jar")

work=$(mktemp -d /tmp/corral-bench-pair.XXXXXX)
agent_pid=
cleanup() {
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  bench_docker_cleanup
  bench_cleanup
  # runc made the Docker parent in hierarchies the tree helpers do not manage (name=systemd): empty ones only
  [ "$ndocker" -eq 0 ] || [ -z "${tree:-}" ] || rmdir /sys/fs/cgroup/*/"$tree"/docker /sys/fs/cgroup/*/"$tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -Wall -o "$work/raw-reader" "$here/raw-reader.c"
gcc -O2 -Wall -o "$work/ticker" "$here/ticker.c"
tree=corral-bench-pair-$n
bench_make_tree "$tree" "$((n - ndocker))"
bench_start_busy "$tree" "$busy" "$work/ticker"
# sleepers in the others (bench_start_sleepers counts from c1: start them one cgroup at a time past the busy ones)
hs=$(bench_hierarchies | tr '\n' ' ')
[ -n "$idle_empty" ] || for ((i = busy + 1; i <= n - ndocker; i++)); do
  sh -c 'for h in '"$hs"'; do echo $$ > "$h/'"$tree"'/c'"$i"'/cgroup.procs"; done
         dd if=/proc/self/exe of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || true
         exec sleep 100000' &
  BENCH_PIDS+=($!)
done
port=$((20000 + RANDOM % 20000))
flags=--monitor-only
if [ -n "$runtime" ]; then
  bench_runtime_flags corral-bench-pair-parent "$work/state"
  flags=$BENCH_RUNTIME_FLAGS
fi
if [ "$ndocker" -gt 0 ]; then
  bench_docker_start "$(mktemp -d /tmp/cb-XXXXXX)" # short: containerd's socket path has 108 bytes at most
  bench_docker_sleepers "$ndocker" "/$tree/docker"
  flags="$flags --docker-socket $BENCH_DOCKER_SOCK"
fi

threads() { # pid: "tid name ns" per thread
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr ' ' _ < "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
  done 2>/dev/null
}

echo "# agent-beside-raw $(date -u +%FT%TZ): $n cgroups ($busy busy, $ndocker Docker containers), warm-up ${warmup}s, window ${window}s, $(nproc) cores, kernel $(uname -r)"
for round in $(seq "$rounds"); do
  for spec in "${jars[@]}"; do
    name=${spec%%=*} rest=${spec#*=}
    jar=${rest%% *} opts=
    [ "$jar" != "$rest" ] && opts=${rest#* }
    cp "$jar" "$work/corral.jar"
    CORRAL_JAR="$work/corral.jar" CORRAL_EXTRA_JAVA_OPTS="$opts" "$repo/bin/corral" serve $flags \
      --listen "127.0.0.1:$port" --cgroup-root "/$tree" --interval 1s > "$work/agent.log" 2>&1 &
    agent_pid=$!
    bench_wait_agent "$work/agent.log" "$agent_pid" >/dev/null || exit 1
    sleep "$warmup"
    kill -0 "$agent_pid" || { echo "agent $name died:"; cat "$work/agent.log"; exit 1; }
    cycles() { # "sum count" of the collection cycles so far
      curl -s "http://127.0.0.1:$port/metrics" | awk '/^corral_collection_duration_seconds_sum/ { s = $2 }
        /^corral_collection_duration_seconds_count/ { c = $2 } END { print s + 0, c + 0 }'; }
    lookups() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^corral_foreign_lookups_total/ { s += $2 }
      END { print s + 0 }'; }
    l0=$(lookups)
    c0=$(cycles)
    threads "$agent_pid" | sort > "$work/t0"
    raw_cpu=$("$work/raw-reader" --root "/$tree" --cycles "$window" --interval-ms 1000 --quiet \
      | tr ' ' '\n' | awk -F= '$1 == "process_cpu_s" {print $2}')
    threads "$agent_pid" | sort > "$work/t1"
    c1=$(cycles)
    l1=$(lookups)
    looked=
    [ "$ndocker" -eq 0 ] || looked=" | Docker lookups $l1 in all, $((l1 - l0)) in the window"
    cycle=$(echo "$c0 $c1" | awk '{ if ($4 > $2) printf " | cycle %.1f ms", ($3 - $1) / ($4 - $2) * 1000 }')
    scrape=
    if [ "$scrapes" -gt 0 ]; then
      for i in $(seq "$scrapes"); do
        sleep 1.05
        curl -s -o "$work/body" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >> "$work/scrapes"
      done
      scrape=$(sort -n "$work/scrapes" | awk -v b="$(stat -c %s "$work/body")" '{ t[NR] = $1 * 1000 }
        END { printf " | scrape median %.1f ms, max %.1f ms, %d bytes", t[int((NR + 1) / 2)], t[NR], b }')
      rm -f "$work/scrapes"
    fi
    rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/status")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=
    # BENCH_THREADS=1: each thread's ms/s too (those above 0.05), to see where the "other threads" go
    [ -z "${BENCH_THREADS:-}" ] || join "$work/t0" "$work/t1" | awk -v w="$window" '
      { d = ($5 - $3) / 1e6 / w; by[$2] += d } END { for (t in by) if (by[t] > 0.05) printf "  %-28s %7.3f ms/s\n", t, by[t] }' \
      | sort -k2 -rn
    join "$work/t0" "$work/t1" | awk -v w="$window" -v raw="$raw_cpu" -v name="$name" -v round="$round" \
      -v load="$load" -v rss="$rss" -v scrape="$scrape$looked" -v cycle="$cycle" '
      { d = ($5 - $3) / 1e6 / w; total += d; if ($2 ~ /^corral-collect/) coll = d }
      END {
        r = raw * 1000 / w
        printf "round %d %-14s agent %.3f ms/s (collector %.3f, other threads %.3f) | raw %.3f ms/s | agent/raw %.2f, collector/raw %.2f | agent %.3f %% of a core%s | RSS %s MiB%s | load %s\n",
          round, name, total, coll, total - coll, r, total / r, coll / r, total / 10, cycle, rss, scrape, load
      }'
  done
done
