#!/usr/bin/env bash
# Rescan vs inotify for noticing created and removed cgroups (docs/benchmarks.md).
#
#   sudo bench/rescan-vs-inotify.sh [--cgroups 1000] [--churn 200]
#
# 1. Makes /corral-bench-scan with --cgroups children in every hierarchy the agent walks (v1 cpu, cpuacct,
#    memory, blkio, pids, and the cgroup2 mount).
# 2. Rescan: JMH ScanBench (CgroupScanner.scan() on that tree: ms and bytes allocated per scan), then
#    CollectorCycleBench on the largest tree the open-files limit lets the collector keep open (a full cycle
#    with a rescan every cycle vs never: the difference is the whole rescan, scan + reopening missing files +
#    bookkeeping), then the syscalls of the agent's rescans counted with strace -c on a 100-cgroup tree
#    (--rescan-every 1 vs 10, 10 s each).
# 3. inotify: inotify-cost.c puts a watch on every directory of the tree in every hierarchy from inside a v1
#    memory cgroup (so the kernel memory charged for the watches shows in memory.kmem.usage_in_bytes), then
#    handles the events of --churn cgroups made and removed in every hierarchy.
# Every cgroup made is removed on exit (trap on EXIT, INT, TERM), processes inside first.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=1000
churn=200
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --churn) churn=$2; shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--churn K]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
work=$(mktemp -d /tmp/corral-rvi.XXXXXX)
finish() {
  bench_cleanup
  bench_assert_clean || true
  cp -r "$work" "$work.keep" 2>/dev/null && echo "raw outputs kept in $work.keep" >&2
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%T)] $*" >&2; }

gcc -O2 -Wall -o "$work/inotify-cost" "$here/inotify-cost.c"
gcc -O2 -Wall -o "$work/raw-reader" "$here/raw-reader.c"
bench_jar "$repo" "$work"
monitor_flags=$(bench_monitor_flags)
nofile=$(ulimit -Hn)
hier=$(bench_hierarchies | wc -l)

echo "# rescan-vs-inotify $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) cores, kernel $(uname -r), $hier hierarchies, $n cgroups"
echo "# $BENCH_JAR_INFO"

log "making /corral-bench-scan with $n children in $hier hierarchies"
bench_make_tree corral-bench-scan "$n"

# ---- rescan: JMH
log "JMH ScanBench"
jmh_table() { # the JMH output's setup lines and result table, or its last lines if there is no table
  if grep -q '^Benchmark ' "$1"; then grep -E '^\[[A-Za-z]+Bench\]' "$1" | sort -u; awk '/^Benchmark /{p = 1} p && NF' "$1"
  else tail -30 "$1"; fi
}
"$here/jmh.sh" ScanBench -p root=/corral-bench-scan -wi 5 -i 10 >"$work/jmh-scan" 2>&1 || true
jmh_table "$work/jmh-scan"

fpc=$("$work/raw-reader" /corral-bench-scan/c1 --cycles 1 --back-to-back --quiet | tr ' ' '\n' \
  | awk -F= '$1 == "files_open" {print $2}')
fit=$(( (nofile - 200) / fpc / 50 * 50 ))
[ "$fit" -le "$n" ] || fit=$n
log "making /corral-bench-cycle with $fit children ($fpc files each must fit under nofile $nofile)"
bench_make_tree corral-bench-cycle "$fit"
log "JMH CollectorCycleBench"
JMH_NO_BUILD=1 "$here/jmh.sh" CollectorCycleBench -p root=/corral-bench-cycle -wi 5 -i 10 >"$work/jmh-cycle" 2>&1 || true
jmh_table "$work/jmh-cycle"

# ---- rescan: syscalls of the agent, strace -c -f for 10 s on a 100-cgroup tree
bench_make_tree corral-bench-strace 100
for rescan in 1 10; do
  log "agent under strace -c, --rescan-every $rescan"
  err="$work/agent-$rescan.err"
  : >"$err"
  "$repo/bin/corral" serve --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-strace \
    --rescan-every "$rescan" $monitor_flags 2>"$err" &
  pid=$!
  BENCH_PIDS+=("$pid")
  bench_wait_agent "$err" "$pid" >/dev/null || exit 1
  sleep 5
  timeout -s INT 10 strace -f -c -o "$work/strace-$rescan" -p "$pid" 2>/dev/null || true
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "agent --rescan-every $rescan, 100 cgroups, syscalls in 10 s (10 cycles):"
  awk '$NF ~ /^(pread64|statx|newfstatat|openat|getdents64|close|gettid)$/ {
         errs = (NF == 6) ? $5 : 0; printf "  %-12s %7d calls %6d errors  (%.1f per cycle)\n", $NF, $4, errs, $4 / 10 }' \
    "$work/strace-$rescan"
done

# ---- inotify
bench_mkdir "$(bench_mount_of memory)/corral-bench-meas-inotify"
memcg="$(bench_mount_of memory)/corral-bench-meas-inotify"
log "inotify watches on every directory of /corral-bench-scan, then $churn cgroups made and removed"
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$memcg" \
  "$work/inotify-cost" --root /corral-bench-scan --churn "$churn" --kmem "$memcg" | tee "$work/inotify"
max_watches=$(cat /proc/sys/fs/inotify/max_user_watches)
memtotal_kib=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
echo "fs.inotify.max_user_watches=$max_watches; the kernel sizes its default as 1% of RAM / INOTIFY_WATCH_COST,"
echo "  so its own worst-case estimate per watch here is $(( memtotal_kib * 1024 / 100 / max_watches )) bytes"
echo "  (INOTIFY_WATCH_COST = sizeof(struct inotify_inode_mark) + 2 * sizeof(struct inode): a watch pins its inode)."
