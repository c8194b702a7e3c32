#!/usr/bin/env bash
# What the agent's memory is made of at N cgroups (docs/benchmarks.md, "memory").
#
#   sudo bench/memory-breakdown.sh [--cgroups 700] [--warmup 60] [--runtime] [--nmt summary|detail]
#
# Makes /corral-bench-mem/c1..cN in every hierarchy the agent reads, then:
#   1. runs raw-reader.c for one cycle inside a v1 memory cgroup and reports the kernel memory charged for
#      keeping the agent's files open and read once (memory.kmem.usage_in_bytes after - before): the kernel
#      side of the keep-files-open design, the same for the agent, which opens the same files;
#   2. runs the agent (--monitor-only where the jar has it) with -XX:NativeMemoryTracking=summary inside its
#      own memory cgroup, waits --warmup seconds, scrapes /metrics 10 times, and reports VmRSS split into
#      anonymous and file-backed pages (smaps_rollup), the JVM's committed memory by area (NMT) and the
#      memory cgroup's usage and kmem. --runtime: with the container runtime on (no containers; its state,
#      socket and parent cgroup corral-bench-mem-parent private to the run), as `corral serve` runs by default.
#      The agent's threads are listed with their count per name.
# Every cgroup made is removed on exit (trap on EXIT, INT, TERM), processes inside first.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=700
warmup=60
runtime=
nmt=summary
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --runtime) runtime=1; shift ;;
    --nmt) nmt=$2; shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--warmup S]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
bench_workdir corral-mem
log() { echo "[$(date +%T)] $*" >&2; }
mib() { echo "scale=1; $1 / 1048576" | bc; }

bench_jar "$repo" "$work"
monitor_flags=$(bench_monitor_flags)
if [ -n "$runtime" ]; then
  bench_runtime_flags corral-bench-mem-parent "$work/state"
  monitor_flags=$BENCH_RUNTIME_FLAGS
fi
gcc -O2 -Wall -o "$work/raw-reader" "$here/raw-reader.c"
mem=$(bench_mount_of memory)
echo "# memory-breakdown $(date -u +%Y-%m-%dT%H:%MZ): $n cgroups${runtime:+, runtime on}; $BENCH_JAR_INFO; load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench_make_tree corral-bench-mem "$n"
bench_start_sleepers corral-bench-mem 5

# 1. kernel memory of open + read files
bench_mkdir "$mem/corral-bench-meas-rawmem"
k0=$(cat "$mem/corral-bench-meas-rawmem/memory.kmem.usage_in_bytes")
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$mem/corral-bench-meas-rawmem" \
  "$work/raw-reader" --root /corral-bench-mem --cycles 1 --back-to-back --quiet >"$work/raw" &
rpid=$!
BENCH_PIDS+=("$rpid")
wait "$rpid"
# the peak while its files were open (usage drops back when it exits and closes them)
k1=$(cat "$mem/corral-bench-meas-rawmem/memory.kmem.max_usage_in_bytes")
files=$(tr ' ' '\n' <"$work/raw" | awk -F= '$1 == "files_open" {print $2}')
echo "raw reader, $files files open and read once: kernel memory charged $(mib $((k1 - k0))) MiB peak" \
  "($(( (k1 - k0) / files )) bytes per open file)"

# 2. the agent
bench_mkdir "$mem/corral-bench-meas-agentmem"
# bin/corral's own flags (or CORRAL_JAVA_OPTS when set) plus native memory tracking
export CORRAL_EXTRA_JAVA_OPTS="-XX:NativeMemoryTracking=$nmt"
: >"$work/err"
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$mem/corral-bench-meas-agentmem" \
  "$repo/bin/corral" serve --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-mem $monitor_flags \
  2>"$work/err" &
pid=$!
BENCH_PIDS+=("$pid")
port=$(bench_wait_agent "$work/err" "$pid") || exit 1
log "agent $pid; warm-up ${warmup}s, then 10 scrapes"
sleep "$warmup"
for _ in $(seq 10); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; sleep 0.2; done
rss=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup")
anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$pid/smaps_rollup")
echo "agent VmRSS $(mib $((rss * 1024))) MiB: anonymous $(mib $((anon * 1024))) MiB," \
  "file-backed (jars, libjvm, CDS archive...) $(mib $(((rss - anon) * 1024))) MiB; fds $(ls "/proc/$pid/fd" | wc -l)"
echo "agent memory cgroup: usage $(mib "$(cat "$mem/corral-bench-meas-agentmem/memory.usage_in_bytes")") MiB," \
  "of which kernel $(mib "$(cat "$mem/corral-bench-meas-agentmem/memory.kmem.usage_in_bytes")") MiB"
echo "largest mappings by RSS (KiB):"
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {rss[name] += $2} END {for (k in rss) printf "  %8d  %s\n", rss[k], k}' \
  "/proc/$pid/smaps" | sort -rn | head -8
echo "JVM native memory tracking (committed):"
jcmd "$pid" VM.native_memory summary 2>/dev/null \
  | grep -E '^Total|^-  *[A-Z][A-Za-z ]+\(reserved|\(classes #|\(thread #|\(malloc=' \
  | sed -E 's/\(reserved=[0-9]+KB, committed=([0-9]+)KB\)/committed \1 KiB/; s/^/  /'
echo "threads by name ($(ls /proc/"$pid"/task | wc -l) in all):"
for f in /proc/"$pid"/task/*/comm; do sed -E 's/[0-9]+$/#/' "$f"; done | sort | uniq -c | sort -rn | sed 's/^/  /'
if [ "$nmt" = detail ]; then jcmd "$pid" VM.native_memory detail >"$work/nmt-detail" 2>/dev/null; cp "$work/nmt-detail" "/tmp/memory-breakdown-nmt-detail.$pid.txt"; echo "NMT detail: /tmp/memory-breakdown-nmt-detail.$pid.txt"; fi
