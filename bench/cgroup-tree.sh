# shellcheck shell=bash
# shellcheck source=bench/lib.sh
. "${BASH_SOURCE[0]%/*}/lib.sh"
# Sourced by the benchmark scripts: make and remove `corral-bench-*` cgroup trees in every hierarchy the
# agent reads (the v1 cpu, cpuacct, memory, blkio and pids mounts and the cgroup2 mount).
#
# Every corral-bench-* directory made here is recorded and removed, with everything below it, by bench_cleanup,
# which the sourcing script must run from a trap on EXIT, INT and TERM: it kills the processes it started (by
# PID) and any process still inside one of those cgroups, then removes child directories before their parents.

BENCH_DIRS=()   # every corral-bench-* cgroup directory made and not yet removed, in creation order
BENCH_MADE=()   # every one ever made by this script (for bench_assert_clean)
BENCH_PIDS=()   # every process started by the scripts (sleepers, agents, readers)

# The mount points of the hierarchies the agent reads, from mountinfo (one per line).
bench_hierarchies() {
  awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") break
    fs = $(i + 1); opts = "," $(i + 3) ","
    if (fs == "cgroup2") print $5
    else if (fs == "cgroup" && (opts ~ /,(cpu|cpuacct|memory|blkio|pids),/)) print $5
  }' /proc/self/mountinfo
}

# The mount point of one v1 controller's hierarchy.
bench_mount_of() {
  awk -v c="$1" '{
    for (i = 7; i <= NF; i++) if ($i == "-") break
    if ($(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ ("," c ",")) { print $5; exit }
  }' /proc/self/mountinfo
}

# Every cgroup mount (v1 and v2), for cgroups the agent itself makes in all of them.
bench_all_mounts() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) ~ /^cgroup2?$/) print $5 }' /proc/self/mountinfo
}

# bench_jar REPO WORK: copies the agent jar (built first if missing; $BENCH_JAR instead if set, to measure
# the same build across scripts) into WORK and exports CORRAL_JAR, so a rebuild by someone else during the
# run cannot change what is measured; sets BENCH_JAR_INFO to its origin.
bench_jar() {
  local repo=$1 work=$2 jar=${BENCH_JAR:-$1/agent/target/corral.jar}
  [ -f "$jar" ] || (cd "$repo" && ./mvnw -q -B package -DskipTests)
  cp "$jar" "$work/corral.jar"
  export CORRAL_JAR="$work/corral.jar"
  BENCH_JAR_INFO="agent jar $jar built $(date -u -r "$jar" +%FT%TZ); repo HEAD now $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)"
  git -C "$repo" diff --quiet HEAD -- exporter/src/main agent/src/main 2>/dev/null \
    || BENCH_JAR_INFO="$BENCH_JAR_INFO + uncommitted changes in exporter/agent main sources"
}

# The serve flags that keep the agent a pure observer: --monitor-only where the jar has it (no container
# runtime: no cgroup, state-dir or socket writes). Older jars only observe and have no such flag.
bench_monitor_flags() {
  if java -jar "$CORRAL_JAR" serve --help 2>&1 | grep -q -- '--monitor-only'; then echo --monitor-only; fi
}

bench_mkdir() { # path
  case "$(basename "$1")" in corral-bench-*) ;; *) echo "refusing to make $1" >&2; return 1 ;; esac
  mkdir "$1"
  BENCH_DIRS+=("$1")
  BENCH_MADE+=("$1")
}

# bench_make_tree NAME N: /NAME/c1../NAME/cN in every hierarchy (NAME must start with corral-bench-).
bench_make_tree() {
  local name=$1 n=$2 h i
  [[ $name == corral-bench-* ]] || { echo "cgroup name must start with corral-bench-" >&2; return 1; }
  for h in $(bench_hierarchies); do
    bench_mkdir "$h/$name"
    if [ "$n" -gt 0 ]; then (cd "$h/$name" && printf 'c%d\0' $(seq "$n") | xargs -0 -r mkdir); fi
  done
}

# bench_start_sleepers NAME K: one `sleep` in each of /NAME/c1../NAME/cK, in every hierarchy. Each first
# reads a file with O_DIRECT so blkio lists a device for these cgroups (as for a container that did IO).
bench_start_sleepers() {
  local name=$1 k=$2 i hs
  hs=$(bench_hierarchies | tr '\n' ' ')
  for ((i = 1; i <= k; i++)); do
    [ -d "$(bench_mount_of pids)/$name/c$i" ] || break
    sh -c 'for h in '"$hs"'; do echo $$ > "$h/'"$name"'/c'"$i"'/cgroup.procs"; done
           dd if=/proc/self/exe of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || true
           exec sleep 100000' &
    BENCH_PIDS+=($!)
  done
}

# bench_start_busy NAME K TICKER: a TICKER process (bench/ticker.c, compiled) in each of /NAME/c1../NAME/cK, in every
# hierarchy, in place of bench_start_sleepers there: its cgroup's CPU usage moves every second (a "busy" cgroup).
bench_start_busy() {
  local name=$1 k=$2 ticker=$3 i hs
  hs=$(bench_hierarchies | tr '\n' ' ')
  for ((i = 1; i <= k; i++)); do
    [ -d "$(bench_mount_of pids)/$name/c$i" ] || break
    sh -c 'for h in '"$hs"'; do echo $$ > "$h/'"$name"'/c'"$i"'/cgroup.procs"; done
           dd if=/proc/self/exe of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || true
           exec "$0"' "$ticker" &
    BENCH_PIDS+=($!)
  done
}

# bench_meas_cgroup NAME: a cpuacct cgroup to run a measured process in (its cpuacct.usage counts every
# thread, to the nanosecond). Sets BENCH_MEAS_DIR to its directory (not printed: a $(...) subshell would lose
# the record that cleanup needs).
bench_meas_cgroup() {
  BENCH_MEAS_DIR="$(bench_mount_of cpuacct)/$1"
  bench_mkdir "$BENCH_MEAS_DIR"
}

# bench_thread_ticks PID: "name ticks" per thread: utime + stime, fields 14 and 15 of stat, counted after the name
# (field 2, in parentheses, may contain spaces) and the state, so the 11th and 12th of the rest
bench_thread_ticks() {
  for f in /proc/"$1"/task/*/stat; do
    (sed -E 's/^[0-9]+ \((.*)\) [A-Za-z] (.*)$/\1\t\2/' "$f" 2>/dev/null || true) \
      | awk -F'\t' '{split($2, a, " "); n = $1; gsub(/[0-9]+$/, "#", n); gsub(/ /, "_", n); print n, a[11] + a[12]}'
  done | awk '{t[$1] += $2} END {for (k in t) print k, t[k]}' | sort
}

# bench_runtime_flags NAME DIR: the serve options that run an agent's container runtime privately (state dir and
# socket in DIR, containers under /NAME), in BENCH_RUNTIME_FLAGS (not printed: a $(...) subshell would lose the
# cleanup record of the parent cgroup, made by bench_runtime_parent).
bench_runtime_flags() {
  bench_runtime_parent "$1"
  mkdir -p "$2"
  # --default-network none: the launch figures are of the plain launch (a bridge network is measured apart)
  BENCH_RUNTIME_FLAGS="--state-dir $2 --cgroup-parent /$1 --socket $2/corral.sock --default-network none"
}

bench_runtime_parent() { # name: the parent cgroup an agent's runtime makes, in every hierarchy, removed on exit
  local h
  for h in $(bench_all_mounts); do BENCH_DIRS+=("$h/$1"); BENCH_MADE+=("$h/$1"); done
}

bench_cleanup() {
  local pid d i
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Anything still inside one of our cgroups (it can only have been put there by these scripts).
  for ((i = ${#BENCH_DIRS[@]} - 1; i >= 0; i--)); do
    d=${BENCH_DIRS[i]}
    [ -d "$d" ] || continue
    # shellcheck disable=SC2044 # the output is PIDs
    for pid in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  # Children before parents: find -depth lists a directory after its contents; the roots backwards.
  for _ in 1 2 3; do
    for ((i = ${#BENCH_DIRS[@]} - 1; i >= 0; i--)); do
      d=${BENCH_DIRS[i]}
      [ -d "$d" ] && find "$d" -depth -type d -print0 | xargs -0 -r rmdir 2>/dev/null
    done
    local left=0
    for d in "${BENCH_DIRS[@]}"; do [ -d "$d" ] && left=1; done
    [ "$left" -eq 0 ] && break
    sleep 0.5 # a killed process may still be exiting
  done
  for d in "${BENCH_DIRS[@]}"; do [ -d "$d" ] && echo "cleanup: cannot remove $d" >&2; done
  BENCH_DIRS=()
  BENCH_PIDS=()
  return 0
}

bench_assert_clean() { # every cgroup this script made is gone (others' corral-bench-* are not ours)
  local d left=0
  for d in "${BENCH_MADE[@]}"; do
    if [ -d "$d" ]; then echo "cleanup: $d left behind" >&2; left=1; fi
  done
  return $left
}

# bench_workdir PREFIX: makes the scratch directory $work (/tmp/PREFIX.XXXXXX) and sets the EXIT trap that
# removes it together with every tree and process the script made (INT and TERM exit through it).
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_finish EXIT
  trap 'exit 130' INT TERM
}

bench_finish() {
  bench_cleanup
  bench_assert_clean || true
  rm -rf "$work"
}
