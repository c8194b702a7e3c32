#!/usr/bin/env bash
# Where the agent's CPU goes: perf samples of a running `corral serve` on N real cgroups, with JIT-compiled
# Java methods named through the JVM's perf map (docs/benchmarks.md, "hotspots").
#
#   sudo bench/profile-agent.sh [--cgroups 700] [--rescan-every 1] [--warmup 60] [--seconds 60]
#
# Makes /corral-bench-prof/c1..cN in every hierarchy the agent reads (5 of them with a sleep, as
# collector-vs-raw.sh does), runs the agent with its usual flags plus -XX:+PreserveFramePointer (call stacks
# through JIT code) and -XX:+DumpPerfMapAtExit (/tmp/perf-PID.map, written when it exits), lets it warm up,
# records `perf record -g` of the whole process for --seconds without scrapes, stops it, and prints:
#   - the CPU split by where it ran: kernel, JIT-compiled Java, interpreter, JVM runtime (GC, JIT compiler,
#     ...), other native libraries; and by thread;
#   - the top symbols by self time;
#   - VmRSS after 10 scrapes and the JVM's native memory tracking summary (committed memory by area);
#   - the share of samples under (inclusive) the collector's main methods.
# Every cgroup made is removed on exit (trap on EXIT, INT, TERM), processes inside first.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
n=700
rescan=1
warmup=60
seconds=60
while [ $# -gt 0 ]; do
  case "$1" in
    --cgroups) n=$2; shift 2 ;;
    --rescan-every) rescan=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--cgroups N] [--rescan-every R] [--warmup S] [--seconds S]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (makes cgroups)" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is needed (Debian: linux-perf)" >&2; exit 2; }

# shellcheck source=cgroup-tree.sh
. "$here/cgroup-tree.sh"
work=$(mktemp -d /tmp/corral-prof.XXXXXX)
finish() {
  bench_cleanup
  bench_assert_clean || true
  [ -n "${pid:-}" ] && rm -f "/tmp/perf-$pid.map"
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM
log() { echo "[$(date +%T)] $*" >&2; }

bench_jar "$repo" "$work"
monitor_flags=$(bench_monitor_flags)
bench_make_tree corral-bench-prof "$n"
bench_start_sleepers corral-bench-prof 5

export CORRAL_EXTRA_JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+PreserveFramePointer -XX:+DumpPerfMapAtExit -XX:NativeMemoryTracking=summary"
: >"$work/err"
"$repo/bin/corral" serve --listen 127.0.0.1:0 --interval 1s --cgroup-root /corral-bench-prof \
  --rescan-every "$rescan" $monitor_flags 2>"$work/err" &
pid=$!
BENCH_PIDS+=("$pid")
port=$(bench_wait_agent "$work/err" "$pid") || exit 1
log "agent $pid on $n cgroups, --rescan-every $rescan; warm-up ${warmup}s"
sleep "$warmup"
log "perf record for ${seconds}s"
perf record -F 997 -g -p "$pid" -o "$work/perf.data" -- sleep "$seconds" 2>"$work/perf.err" >/dev/null
# Memory after 10 scrapes (what a scraped agent holds): RSS and the JVM's own accounting (NMT).
for _ in $(seq 10); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; sleep 0.2; done
grep -E '^Vm(RSS|HWM)' "/proc/$pid/status" | tr -s ' \t' ' ' >"$work/rss"
jcmd "$pid" VM.native_memory summary 2>/dev/null \
  | grep -E '^Total|^-  *[A-Z][A-Za-z ]+\(reserved' | sed -E 's/\(reserved=[0-9]+KB, committed=([0-9]+)KB\)/committed \1 KiB/' >"$work/nmt" || true
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
[ -s "/tmp/perf-$pid.map" ] || log "warning: no /tmp/perf-$pid.map: JIT frames stay unnamed"

echo "# profile-agent $(date -u +%Y-%m-%dT%H:%MZ): $n cgroups, --rescan-every $rescan $monitor_flags, warm-up ${warmup}s, ${seconds}s of perf samples at 997 Hz"
echo "# $BENCH_JAR_INFO"
perf report -i "$work/perf.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null \
  | awk '/^#/ || !NF {next} {print}' >"$work/self.txt"
echo
echo "CPU by where it ran (self samples):"
awk '{
  pct = $1; sub("%", "", pct); dso = $2; sym = $0
  if (dso ~ /kernel/) k = "kernel"
  else if (dso ~ /^perf-[0-9]+\.map$/ || dso ~ /^\[JIT\]/) k = (sym ~ /Interpreter/ ? "interpreter" : "JIT-compiled Java")
  else if (dso ~ /libjvm/) k = "JVM runtime (libjvm: GC, JIT compiler, JNI, ...)"
  else if (dso ~ /libc/) k = "libc"
  else k = "other native (" dso ")"
  sum[k] += pct
} END { for (k in sum) printf "  %6.2f%%  %s\n", sum[k], k }' "$work/self.txt" | sort -rn
echo
echo "CPU by thread (perf comm: Java thread names, cut to 15 characters):"
perf report -i "$work/perf.data" --no-children --sort comm -g none --stdio 2>/dev/null \
  | awk '/^#/ || !NF {next} {printf "  %7s  %s\n", $1, substr($0, index($0, $2))}' | head -12
echo
echo "top 30 symbols by self time:"
head -30 "$work/self.txt" | sed 's/^/  /'
echo
echo "memory after 10 scrapes: $(tr '\n' ' ' <"$work/rss")"
echo "JVM native memory tracking (committed; the Java heap is what bin/corral's -Xmx caps):"
sed 's/^/  /' "$work/nmt"
echo
echo "inclusive share of the collector's methods (samples with the method anywhere on the stack):"
perf report -i "$work/perf.data" --children --sort sym -g none --stdio 2>/dev/null \
  | grep -E 'CgroupCollector\.(collect|rescan)|CgroupScanner\.(scan|walk)\(|CgroupReaders\.open|V1CgroupReader\.(read|<init>)\(|FileSet\.(reopenMissing|load)\(|KernelFile\.(readInto|openIfPresent)|Snapshot\.<init>|SelfMetrics\.cycle|UnixException\.|Throwable\.fillInStackTrace|Files\.(getAttribute|isDirectory)\(|FlatKeyedParser\.parse|BlkioParser\.parseFile|PressureParser\.parse|TreeMap\.put|HashMap\.put|(__x64_sys_pread64|ksys_pread64|__x64_sys_statx|do_sys_openat2|__x64_sys_getdents64)$' \
  | awk '{printf "  %7s incl %7s self  ", $1, $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); print}' | head -40
