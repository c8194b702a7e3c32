#!/usr/bin/env bash
# selftest.sh - proves that run-in-v2vm.sh gives a working cgroup v2 guest.
# Prints one PASS/FAIL line per check and exits non-zero if any check failed.
set -u -o pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
RUN=$HERE/run-in-v2vm.sh
FAILS=0 PASSES=0
pass() { echo "PASS: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# ----------------------------------------------------------------------------- in the guest
# Runs inside the VM (bash from the host root, chrooted). Prints PASS/FAIL lines itself.
read -r -d '' GUEST <<'GUEST_EOF'
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
now() { echo "$EPOCHREALTIME"; }
CG=/sys/fs/cgroup

[ "${CORRAL_V2_GUEST:-}" = 1 ] && pass "CORRAL_V2_GUEST=1" || fail "CORRAL_V2_GUEST is '${CORRAL_V2_GUEST:-}'"
[ "$(uname -r)" != "$HOST_KERNEL" ] && pass "guest kernel $(uname -r)" || fail "kernel is the host's ($(uname -r))"

# mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
fst=$(awk '$5 == "/sys/fs/cgroup" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
[ "$fst" = cgroup2 ] && pass "mountinfo: cgroup2 at /sys/fs/cgroup" || fail "mountinfo: /sys/fs/cgroup is '$fst'"
v1=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") n++; break } } END { print n + 0 }' /proc/self/mountinfo)
[ "$v1" = 0 ] && pass "no cgroup v1 mounts" || fail "$v1 cgroup v1 mounts"

sc=$(cat $CG/cgroup.subtree_control)
ok=1; for c in cpu memory io pids; do [[ " $sc " == *" $c "* ]] || ok=0; done
[ $ok = 1 ] && pass "root cgroup.subtree_control: $sc" || fail "root cgroup.subtree_control: '$sc'"

[ "$PWD" = "$HOST_PWD" ] && pass "cwd preserved ($PWD)" || fail "cwd is $PWD, expected $HOST_PWD"
[ "$HOME" = /tmp ] && touch /tmp/x /run/x /var/tmp/x /dev/shm/x && pass "HOME=/tmp, writable tmpfs /tmp /run /var/tmp /dev/shm" ||
  fail "HOME=$HOME or tmpfs not writable"
[ "${CORRAL_SELFTEST_VAR:-}" = "a b 'c'" ] && pass "--env passes a variable through" || fail "--env: '${CORRAL_SELFTEST_VAR:-}'"
[ "$#" = 3 ] && [ "$1" = "two words" ] && [ "$2" = "it's" ] && [ "$3" = '$HOME "q"' ] &&
  pass "arguments with spaces and quotes survive" || fail "arguments: $# [$*]"

# memory.max -> OOM kill
M=$CG/v2selftest-mem
mkdir "$M" && echo 32M > "$M/memory.max" || fail "cannot create $M"
bash -c 'echo $$ > '"$M"'/cgroup.procs && exec dd if=/dev/zero bs=64M count=1 of=/dev/null 2>/dev/null'
rc=$?
ooms=$(awk '$1 == "oom_kill" { print $2 }' "$M/memory.events")
[ "${ooms:-0}" -ge 1 ] && pass "memory.max 32M: dd bs=64M OOM-killed (exit $rc, oom_kill $ooms)" ||
  fail "memory.max: oom_kill=${ooms:-?} (dd exit $rc)"

# io.max -> write throttling on the scratch disk
if [ -b "${CORRAL_V2_SCRATCH_DEV:-}" ] && [[ ${CORRAL_V2_SCRATCH_DEVNO:-} =~ ^[0-9]+:[0-9]+$ ]]; then
  pass "scratch disk $CORRAL_V2_SCRATCH_DEV ($CORRAL_V2_SCRATCH_DEVNO)"
  I=$CG/v2selftest-io
  mkdir "$I" && echo "$CORRAL_V2_SCRATCH_DEVNO wbps=1048576" > "$I/io.max" || fail "cannot set $I/io.max"
  t0=$(now)
  bash -c 'echo $$ > '"$I"'/cgroup.procs && exec dd if=/dev/zero of="$CORRAL_V2_SCRATCH_DEV" bs=1M count=2 oflag=direct 2>/dev/null'
  rc=$?; t1=$(now)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  wb=$(awk -v d="$CORRAL_V2_SCRATCH_DEVNO" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^wbytes=/) { sub(/wbytes=/, "", $i); print $i } }' "$I/io.stat")
  awk -v s="$secs" 'BEGIN { exit !(s >= 1.5) }' && [ $rc = 0 ] &&
    pass "io.max wbps=1MiB/s: 2 MiB direct write took ${secs}s" || fail "io.max: 2 MiB took ${secs}s (dd exit $rc)"
  [ "${wb:-0}" -ge 2097152 ] && pass "io.stat wbytes=$wb" || fail "io.stat wbytes='${wb:-}' ($(cat "$I/io.stat"))"
else
  fail "scratch disk: DEV='${CORRAL_V2_SCRATCH_DEV:-}' DEVNO='${CORRAL_V2_SCRATCH_DEVNO:-}'"
fi
for d in "$CG/v2selftest-mem" "$CG/v2selftest-io"; do [ -d "$d" ] && rmdir "$d"; done
[ ! -d "$CG/v2selftest-mem" ] && [ ! -d "$CG/v2selftest-io" ] && pass "child cgroups removed" || fail "child cgroups left"

t0=$(now)
jv=$(java -version 2>&1); rc=$?
t1=$(now)
[ $rc = 0 ] && pass "java -version in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s: $(echo "$jv" | head -n1)" ||
  fail "java -version exit $rc: $jv"
exit $((fails > 0))
GUEST_EOF

# ----------------------------------------------------------------------------- on the host
cd "$HERE/../.." || exit 2
HOST_KERNEL=$(uname -r)
export CORRAL_SELFTEST_VAR="a b 'c'" HOST_PWD=$PWD HOST_KERNEL
count_leftovers() { echo "$(pgrep -c -f '^(timeout .*)?qemu-system-x86_64 .*corral-v2vm' || true) $(ls -d "${TMPDIR:-/tmp}"/corral-v2vm.* 2>/dev/null | wc -l)"; }
before=$(count_leftovers)

echo "== guest checks"
t0=$EPOCHREALTIME
out=$("$RUN" --env CORRAL_SELFTEST_VAR --env HOST_PWD --env HOST_KERNEL -- \
        /bin/bash -c "$GUEST" guest "two words" "it's" '$HOME "q"' 2>&1)
rc=$?
t1=$EPOCHREALTIME
echo "$out" | grep -E '^(PASS|FAIL): ' | sed 's/^/  [guest] /'
PASSES=$((PASSES + $(echo "$out" | grep -c '^PASS: ')))
FAILS=$((FAILS + $(echo "$out" | grep -c '^FAIL: ')))
if [ $rc = 0 ]; then pass "guest checks exit 0 ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s wall)"
else fail "guest checks exit $rc"; echo "$out" | grep -vE '^(PASS|FAIL): ' | tail -n 30 | sed 's/^/  | /'; fi

echo "== exit status"
t0=$EPOCHREALTIME
out=$("$RUN" -- sh -c 'echo out; echo err >&2; exit 7' 2>/dev/null); rc=$?
t1=$EPOCHREALTIME
[ $rc = 7 ] && pass "'exit 7' makes the harness exit 7 ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s wall)" || fail "'exit 7' gave $rc"
[ "$out" = "$(printf 'out\nerr')" ] && pass "stdout+stderr streamed to stdout, no console noise" || fail "output was: $(printf '%q' "$out")"

echo "== timeout"
t0=$EPOCHREALTIME
err=$("$RUN" --timeout 8 -- sleep 600 2>&1 >/dev/null); rc=$?
t1=$EPOCHREALTIME
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
[ $rc = 124 ] && [[ $err == *"timed out"* ]] && pass "--timeout 8 on 'sleep 600': exit 124 after ${secs}s" ||
  fail "--timeout: exit $rc after ${secs}s: $err"

after=$(count_leftovers)
[ "$after" = "$before" ] && pass "no qemu process or temp dir left behind" || fail "leftovers (qemu, tmpdirs): before $before, after $after"

echo "$PASSES passed, $FAILS failed"
exit $((FAILS > 0))
