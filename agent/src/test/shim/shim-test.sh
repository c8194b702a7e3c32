#!/usr/bin/env bash
# Real-kernel tests of corral-shim (agent/src/main/c/corral-shim.c), run as root:
#
#   bash agent/src/test/shim/shim-test.sh            # compiles the shim from source into a temp dir
#   CORRAL_SHIM=/path/to/corral-shim bash ...         # or tests a given binary
#
# Each test writes a NUL-separated config, launches a container and checks what the command saw (its
# stdout log), the exit file, and that nothing is left behind. Everything this script makes (cgroups
# named corral-test-shim-<pid>-*, processes, the temp dir) is removed by the EXIT trap.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "shim-test: must run as root" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../main/c/corral-shim.c
work=$(mktemp -d /tmp/corral-shim-test.XXXXXX)
chmod 755 "$work"   # the user-namespace test's root (host uid 100000) must reach the rootfs
tag=corral-test-shim-$$
launched=()   # init and monitor pids of every launch, killed at exit if still alive
cgroups=()    # cgroup directories made here
failures=0
passes=0

cleanup() {
  local p d
  for p in "${launched[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for d in "${cgroups[@]}"; do
    [ -d "$d" ] || continue
    # Kill whatever is left inside, then remove it (a cgroup is removable once empty).
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      local procs
      procs=$(cat "$d/cgroup.procs" 2>/dev/null)
      [ -z "$procs" ] && break
      kill -KILL $procs 2>/dev/null
      sleep 0.05
    done
    rmdir "$d" 2>/dev/null || echo "shim-test: could not remove $d" >&2
  done
  # The test's own mounts (and any a container leaked into the host namespace: it should not), deepest first.
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m"
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { passes=$((passes + 1)); printf '  ok    %s\n' "$1"; }
fail() { failures=$((failures + 1)); printf '  FAIL  %s\n' "$1"; shift; [ $# -gt 0 ] && printf '        %s\n' "$@"; }
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
# expect NAME WANT GOT
expect() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}
# expect_match NAME REGEX GOT
expect_match() {
  if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1" "want match: $2" "got: $3"; fi
}

# ---------------------------------------------------------------------------------------------------
# The binary

if [ -n "${CORRAL_SHIM:-}" ]; then
  shim=$CORRAL_SHIM
else
  shim=$work/corral-shim
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$shim" "$src" "$here/../../main/c/corral-net.c" || { echo "shim-test: compile failed" >&2; exit 1; }
fi

# busybox-static: the rootfs of the pivot_root tests, and its `ip` for the network checks.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null ||
    { echo "shim-test: cannot install busybox-static" >&2; exit 1; }
fi
busybox=/bin/busybox

# ---------------------------------------------------------------------------------------------------
# Cgroups: a v1 memory cgroup and a v2 cgroup, wherever this host mounts them.

v1_memory=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
v2_root=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)

make_cgroup() { # root name -> sets CG to the new directory (not in a subshell: cleanup needs the list)
  CG=$1/$tag-$2
  mkdir "$CG" && cgroups+=("$CG")
}

# ---------------------------------------------------------------------------------------------------
# Launching

# launch CONFIG: runs the shim; sets L_rc, L_out, L_err, L_init, L_mon.
launch() {
  L_out=$("$shim" run "$1" 2>"$work/launch.err")
  L_rc=$?
  L_err=$(cat "$work/launch.err")
  L_init='' L_mon=''
  if [[ $L_out =~ ^init=([0-9]+)\ monitor=([0-9]+)$ ]]; then
    L_init=${BASH_REMATCH[1]} L_mon=${BASH_REMATCH[2]}
    launched+=("$L_init" "$L_mon")
  fi
}

# container NAME KEY VALUE...: writes $work/NAME/config (plus log_dir and exit_file) and launches it.
container() {
  local name=$1; shift
  C=$work/$name
  mkdir -p "$C/logs"
  printf '%s\0' "$@" log_dir "$C/logs" exit_file "$C/exit.json" >"$C/config"
  launch "$C/config"
  if [ "$L_rc" != 0 ]; then
    fail "$name: launch" "rc=$L_rc stdout=$L_out stderr=$L_err"
    return 1
  fi
}

# alive PID: the process exists and is not a zombie. (A monitor outlives the launcher, so its parent
# becomes PID 1 or a subreaper, which may take its time to reap it.)
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ -n "$s" ] && [ "${s%% *}" != Z ]
}

# wait_gone PID [SECONDS]: waits until the process has exited.
wait_gone() {
  local i n=$(( ${2:-10} * 100 ))
  for ((i = 0; i < n; i++)); do
    alive "$1" || return 0
    sleep 0.01
  done
  return 1
}

# finish: waits for the last container's monitor to exit; sets OUT, ERR, EXIT_JSON.
finish() {
  wait_gone "$L_mon" 10 || fail "$(basename "$C"): monitor exits" "monitor $L_mon still running"
  OUT=$(cat "$C/logs/stdout.log" 2>/dev/null)
  ERR=$(cat "$C/logs/stderr.log" 2>/dev/null)
  EXIT_JSON=$(cat "$C/exit.json" 2>/dev/null)
}

# exit_of JSON -> "exitCode signal"
exit_of() {
  if [[ $1 =~ ^\{\"exitCode\":([0-9]+),\"signal\":([0-9]+),\"finishedAtMillis\":([0-9]{13})\}$ ]]; then
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  else
    echo "unparsable: $1"
  fi
}

# The line of the command's output that starts with KEY=, without the key.
field() { sed -n "s/^$1=//p" <<<"$OUT" | head -1; }

ALL_NS=(ns pid ns mount ns uts ns ipc ns net)

# ---------------------------------------------------------------------------------------------------
echo "corral-shim tests ($shim)"

# --- Namespaces, hostname, capabilities, loopback, cgroups (host root) ------------------------------
cg_args=() cg_expect=()
if [ -n "$v1_memory" ]; then
  make_cgroup "$v1_memory" ns && cg_args+=(cgroup_procs "$CG/cgroup.procs") && cg_expect+=(":memory:/$tag-ns")
fi
if [ -n "$v2_root" ]; then
  make_cgroup "$v2_root" ns && cg_args+=(cgroup_procs "$CG/cgroup.procs") && cg_expect+=("0::/$tag-ns")
fi
script='
echo "pid=$$"
echo "ppid=$PPID"
echo "init=$(cat /proc/1/comm)"
pids=""; for p in /proc/[0-9]*; do pids="$pids ${p#/proc/}"; done; echo "procs=$pids"
echo "hostname=$(hostname)"
echo "capeff=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)"
echo "nnp=$(sed -n "s/^NoNewPrivs:[[:space:]]*//p" /proc/self/status)"
echo "links=$('"$busybox"' ip -o link show | awk "{ printf \"%s%s\", sep, \$2; sep=\" \" }")"
echo "lo_up=$('"$busybox"' ip -o link show lo | grep -c "[<,]UP[,>]")"
echo "cgroups=$(tr "\n" " " </proc/self/cgroup)"
echo "cwd=$(pwd)"
echo to-stderr >&2
'
if container basic arg /bin/sh arg -c arg "$script" "${ALL_NS[@]}" hostname box-1 \
  cap 0 cap 5 cap 10 cwd /tmp env PATH=/usr/sbin:/usr/bin:/sbin:/bin "${cg_args[@]}"; then
  expect_match "launch prints init and monitor pids" '^init=[0-9]+ monitor=[0-9]+$' "$L_out"
  finish
  expect "without init: the command is pid 1" 1 "$(field pid)"
  expect "without init: pid 1 is the command" sh "$(field init)"
  expect "without init: /proc shows only the container (the command alone)" " 1" "$(field procs)"
  expect "hostname" box-1 "$(field hostname)"
  expect "CapEff = CHOWN|KILL|NET_BIND_SERVICE" 0000000000000421 "$(field capeff)"
  expect "NoNewPrivs" 1 "$(field nnp)"
  expect "new netns has only lo" "lo:" "$(field links)"
  expect "lo is up" 1 "$(field lo_up)"
  expect "cwd" /tmp "$(field cwd)"
  for want in "${cg_expect[@]}"; do
    expect_match "joined cgroup $want" "(^| )[0-9]*$want( |$)" "$(field cgroups)"
  done
  expect "stderr lands in stderr.log" to-stderr "$ERR"
  expect "exit file: success" "0 0" "$(exit_of "$EXIT_JSON")"
  if command -v jq >/dev/null; then check "exit file is JSON" jq -e .finishedAtMillis "$C/exit.json" >/dev/null; fi
  check "no exit.json.tmp left" test ! -e "$C/exit.json.tmp"
fi

# --- init 1 (Docker's --init): corral-init is PID 1 and the command its child ----------------------
if container withinit arg /bin/sh arg -c arg "$script" "${ALL_NS[@]}" init 1; then
  finish
  expect "init: command is pid 2" 2 "$(field pid)"
  expect "init: command's parent is pid 1" 1 "$(field ppid)"
  expect "init: pid 1 is corral's init" corral-init "$(field init)"
  expect "init: /proc shows only the container (init and the command)" " 1 2" "$(field procs)"
  expect "init: exit file" "0 0" "$(exit_of "$EXIT_JSON")"
fi

# --- Exit codes ----------------------------------------------------------------------------------
if container exit3 arg /bin/sh arg -c arg 'echo out; exit 3' "${ALL_NS[@]}"; then
  finish
  expect "exit 3 -> exitCode 3 signal 0" "3 0" "$(exit_of "$EXIT_JSON")"
  expect "stdout lands in stdout.log" out "$OUT"
fi
# (With init: a PID 1 cannot SIGKILL itself, the kernel drops it, as in Docker without --init.)
if container kill9 arg /bin/sh arg -c arg 'kill -9 $$' "${ALL_NS[@]}" init 1; then
  finish
  expect "killed by SIGKILL -> exitCode 137 signal 9" "137 9" "$(exit_of "$EXIT_JSON")"
fi
if container nopidns arg /bin/sh arg -c arg 'exit 5'; then
  finish
  expect "no namespaces at all: exit code" "5 0" "$(exit_of "$EXIT_JSON")"
fi
# init itself killed (as cgroup.kill or the OOM killer would): its own status is reported.
if container initkilled arg /bin/sleep arg 100 "${ALL_NS[@]}" init 1; then
  kill -KILL "$L_init"
  finish
  expect "init SIGKILLed -> exitCode 137 signal 9" "137 9" "$(exit_of "$EXIT_JSON")"
fi
if container cmdkilled arg /bin/sleep arg 100 "${ALL_NS[@]}"; then
  kill -KILL "$L_init"
  finish
  expect "without init: the command SIGKILLed -> exitCode 137 signal 9" "137 9" "$(exit_of "$EXIT_JSON")"
fi
# Without init the command's output still flows while it runs (the monitor pumps the logs, not blocked
# waiting for it): more than a pipe's buffer, then a clean exit.
if container bigout arg /bin/sh arg -c arg 'head -c 300000 /dev/zero | tr "\\0" x; exit 4' "${ALL_NS[@]}"; then
  finish
  expect "without init: 300000 bytes of output, then exit 4" "300000 4 0" \
    "$(wc -c <"$C/logs/stdout.log") $(exit_of "$EXIT_JSON")"
fi

# --- Signals ---------------------------------------------------------------------------------------
if container sigterm arg /bin/sh arg -c arg 'trap "exit 42" TERM; echo ready; sleep 100 & wait' "${ALL_NS[@]}"; then
  for _ in $(seq 100); do grep -q ready "$C/logs/stdout.log" 2>/dev/null && break; sleep 0.02; done
  kill -TERM "$L_init"
  finish
  expect "without init: SIGTERM reaches the command's trap (exits 42)" "42 0" "$(exit_of "$EXIT_JSON")"
fi
if container sigterm-init arg /bin/sh arg -c arg 'trap "exit 42" TERM; echo ready; sleep 100 & wait' "${ALL_NS[@]}" \
  init 1; then
  for _ in $(seq 100); do grep -q ready "$C/logs/stdout.log" 2>/dev/null && break; sleep 0.02; done
  kill -TERM "$L_init"
  finish
  expect "SIGTERM to init is forwarded (trap exits 42)" "42 0" "$(exit_of "$EXIT_JSON")"
fi
# A PID 1 without a handler ignores SIGTERM (as in Docker without --init): the agent's stop then kills it.
if container pid1-term arg /bin/sleep arg 100 "${ALL_NS[@]}"; then
  kill -TERM "$L_init"
  sleep 0.3
  check "without init: a PID 1 without a handler ignores SIGTERM" alive "$L_init"
  kill -KILL "$L_init"
  finish
  expect "without init: then SIGKILL ends it" "137 9" "$(exit_of "$EXIT_JSON")"
fi

# --- Zombies ---------------------------------------------------------------------------------------
# Orphans are reparented to init, which must reap them. (Children of a process that exec's without
# waiting, like "sleep 0.1 & exec sleep 1", stay zombies of that process until it exits: not init's.)
make_cgroup "${v2_root:-$v1_memory}" zombie
zcg=$CG
if container zombies arg /bin/sh arg -c arg '(sleep 0.1 &); (sleep 0.1 &); sleep 0.1 & sleep 0.1 & exec sleep 1' \
  "${ALL_NS[@]}" cgroup_procs "$zcg/cgroup.procs" init 1; then
  sleep 0.5
  zombies=$(ps -e -o ppid=,stat= | awk -v p="$L_init" '$1 == p && $2 ~ /^Z/' | wc -l)
  expect "orphans reaped by init: no zombie children of init" 0 "$zombies"
  finish
  expect "zombies: exit code of the command" "0 0" "$(exit_of "$EXIT_JSON")"
  expect "nothing left in the container's cgroup" "" "$(cat "$zcg/cgroup.procs")"
fi

# --- Logs: rotation --------------------------------------------------------------------------------
if container rotate arg /bin/sh arg -c arg 'for i in 1 2 3 4 5 6 7 8; do printf "%049d\n" $i; sleep 0.1; done' \
  log_max_bytes 100 log_max_files 3; then
  finish
  L=$C/logs
  check "rotation: stdout.log.1 and .2 exist" test -f "$L/stdout.log.1" -a -f "$L/stdout.log.2"
  check "rotation: at most log_max_files files (no .3)" test ! -e "$L/stdout.log.3"
  big=$(find "$L" -name 'stdout.log*' -size +100c | wc -l)
  expect "rotation: no file over log_max_bytes" 0 "$big"
  seq_all=$(cat "$L/stdout.log.2" "$L/stdout.log.1" "$L/stdout.log" | sed 's/^0*//' | tr '\n' ' ')
  expect "rotation: newest lines kept in order" "3 4 5 6 7 8 " "$seq_all"
  check "rotation: a time index beside each log (logs -t)" test -s "$L/stdout.log.idx" -a -s "$L/stdout.log.1.idx"
  idx_ok=$(od -An -tu8 -w16 -v "$L/stdout.log.1.idx" | awk '$1 == 0 && $2 > 1000000000000000000 {n++} END {print n+0}')
  expect "rotation: the rotated log's index starts at offset 0 with a time in ns" 1 "$idx_ok"
fi

# --- rootfs (busybox) ------------------------------------------------------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$work/data"
cp "$busybox" "$rootfs/bin/busybox"
chroot "$rootfs" /bin/busybox --install -s /bin
echo rootfs-marker >"$rootfs/etc/marker"
echo data-file >"$work/data/file"
mkdir -p "$work/data/sub" && mount -t tmpfs -o size=1m corral-test "$work/data/sub"   # a submount: "rec"
script='
echo "root=$(ls / | tr "\n" " ")"
echo "marker=$(cat /etc/marker)"
echo "host_visible=$(test -e '"$work"' && echo yes || echo no)"
echo "devnull=$(echo x >/dev/null && echo ok)"
echo "zero=$(head -c 5 /dev/zero | wc -c)"
echo "version_bytes=$(cat /proc/version | wc -c)"
echo "firmware_entries=$(ls /sys/firmware | wc -l)"
echo "proc_sys=$(grep " /proc/sys " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1)"
echo "root_mount=$(awk "\$5 == \"/\" { split(\$6, o, \",\"); print o[1] }" /proc/self/mountinfo)"
echo "root_write=$(touch /x 2>/dev/null && echo yes || echo no)"
echo "tmp_write=$(touch /tmp/x && echo yes || echo no)"
echo "rotmp=$(grep " /rotmp " /proc/self/mountinfo | cut -d" " -f6)"
echo "data=$(cat /data/file)"
echo "data_mount=$(grep " /data " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1)"
echo "data_sub_mount=$(grep " /data/sub " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1)"
echo "pts=$(test -c /dev/pts/ptmx && test -L /dev/ptmx && echo ok)"
echo "ps=$(ps -o pid | tail -n +2 | tr -d " " | tr "\n" " ")"
echo "id=$(id -u):$(id -g)"
'
if container busybox arg sh arg -c arg "$script" "${ALL_NS[@]}" rootfs "$rootfs" readonly_rootfs 1 \
  env PATH=/bin mask_path /proc/kcore mask_path /proc/version mask_path /sys/firmware mask_path /nonexistent \
  readonly_path /proc/sys readonly_path /nonexistent \
  mount "$(printf 'tmpfs\ttmpfs\t/tmp\tsize=1m,mode=1777')" mount "$(printf 'tmpfs\t\t/rotmp\tsize=1m,ro,noexec')" \
  mount "$(printf 'bind\t%s\t/data\tro,rec' "$work/data")" \
  uid 1000 gid 1000; then
  finish
  expect "rootfs: / is the rootfs" "bin data dev etc proc rotmp sys tmp " "$(field root)"
  expect "rootfs: its files" rootfs-marker "$(field marker)"
  expect "rootfs: host files not visible" no "$(field host_visible)"
  expect "rootfs: /dev/null works" ok "$(field devnull)"
  expect "rootfs: /dev/zero works" 5 "$(field zero)"
  expect "rootfs: masked file (/proc/version) reads empty" 0 "$(field version_bytes)"
  expect "rootfs: masked dir (/sys/firmware) is empty" 0 "$(field firmware_entries)"
  expect "rootfs: readonly_path /proc/sys" ro "$(field proc_sys)"
  expect "rootfs: readonly_rootfs" ro "$(field root_mount)"
  expect "rootfs: / not writable" no "$(field root_write)"
  expect "rootfs: tmpfs mount writable" yes "$(field tmp_write)"
  expect "rootfs: tmpfs with ro,noexec (mount flags, not data)" ro,nosuid,nodev,noexec,relatime "$(field rotmp)"
  expect "rootfs: ro bind mount readable" data-file "$(field data)"
  expect "rootfs: ro bind mount is read-only" ro "$(field data_mount)"
  expect "rootfs: ro,rec bind mount: submount read-only too" ro "$(field data_sub_mount)"
  expect "rootfs: devpts" ok "$(field pts)"
  expect_match "rootfs: ps shows only the container" '^1( [0-9]+)* $' "$(field ps)"
  expect "rootfs: uid/gid" 1000:1000 "$(field id)"
  expect "rootfs: no error output" "" "$ERR"
  check "rootfs: nothing mounted on the host" bash -c "! grep -q ' $rootfs' /proc/self/mountinfo"
  check "rootfs: host submount still writable" touch "$work/data/sub/host-write"
fi

# --- the host's root (rootfs host) ------------------------------------------------------------------
# Bound on an empty mount point, every mount in it read-only (the tmpfs submount under $work/data too), its own
# /proc, masks over a directory and a file of the host.
mkdir -p "$work/hr-mp" "$work/hr-secret" && echo hidden >"$work/hr-secret/in-dir" && echo hidden >"$work/hr-token"
hscript='
echo "sub_write=$(touch '"$work"'/data/sub/hr 2>/dev/null && echo yes || echo no)"
echo "work_write=$(touch '"$work"'/hr 2>/dev/null && echo yes || echo no)"
echo "run_write=$(touch /run/hr && echo yes || echo no)"
echo "secret=$(ls '"$work"'/hr-secret | wc -l) token=$(cat '"$work"'/hr-token | wc -c)"
echo "ps=$(ls /proc | grep -c "^[0-9]")"
'
if container hostroot arg /bin/sh arg -c arg "$hscript" "${ALL_NS[@]}" rootfs "$work/hr-mp" host_root 1 \
  readonly_rootfs 1 mount "$(printf 'tmpfs\ttmpfs\t/run\tmode=1777')" mask_path "$work/hr-secret" \
  mask_path "$work/hr-token"; then
  finish
  expect "host_root: a submount is read-only too" no "$(field sub_write)"
  expect "host_root: / is read-only" no "$(field work_write)"
  expect "host_root: its tmpfs is writable" yes "$(field run_write)"
  expect "host_root: masked dir and file are empty" "0 token=0" "$(field secret)"
  expect_match "host_root: its own /proc (init, sh, a subshell, ls, grep)" '^[1-5]$' "$(field ps)"
  expect "host_root: no error output" "" "$ERR"
  check "host_root: nothing written on the host" bash -c "[ ! -e '$work/hr' ] && [ ! -e '$work/data/sub/hr' ] && [ ! -e /run/hr ]"
  check "host_root: nothing mounted on the host" bash -c "! grep -q ' $work/hr-mp' /proc/self/mountinfo"
fi

# --- overlay root (images) ------------------------------------------------------------------------
# Two lower dirs (a whiteout and an opaque dir in the top one), an upper and a work dir, in a directory whose
# name has the characters overlayfs's options split on: the shim escapes them.
ov="$work/over,lay:x\\y"
# (A read-only overlay cannot get mount points made in it: the base layer has /dev, /proc and /sys, as the
# agent's init/ layer gives every read-only image root.)
mkdir -p "$ov/base/bin" "$ov/base/etc" "$ov/base/opq" "$ov/base/dev" "$ov/base/proc" "$ov/base/sys" "$ov/top/etc" "$ov/top/opq" "$ov/upper" "$ov/work" "$ov/merged"
cp "$busybox" "$ov/base/bin/busybox"
echo gone >"$ov/base/etc/gone"; echo one >"$ov/base/etc/replaced"; echo a >"$ov/base/opq/a"
echo two >"$ov/top/etc/replaced"; echo c >"$ov/top/opq/c"; mknod "$ov/top/etc/gone" c 0 0
setfattr -n trusted.overlay.opaque -v y "$ov/top/opq" || fail "overlay: setfattr (apt-get install attr)"
oscript='echo "etc=$(busybox ls /etc | busybox tr "\n" " ")"; echo "replaced=$(busybox cat /etc/replaced)"
echo "opq=$(busybox ls /opq | busybox tr "\n" " ")"; echo new >/etc/new; echo "write=$(busybox cat /etc/new)"
echo "root_fs=$(busybox awk "\$5 == \"/\" { print \$9 }" /proc/self/mountinfo)"'
if container overlay arg /bin/busybox arg sh arg -c arg "$oscript" "${ALL_NS[@]}" rootfs "$ov/merged" \
  overlay_lower "$ov/top" overlay_lower "$ov/base" overlay_upper "$ov/upper" overlay_work "$ov/work"; then
  finish
  expect "overlay: whiteout hides etc/gone" "replaced " "$(field etc)"
  expect "overlay: the top layer's file" two "$(field replaced)"
  expect "overlay: opaque dir shows only the top layer" "c " "$(field opq)"
  expect "overlay: writable" new "$(field write)"
  expect "overlay: / is an overlay" overlay "$(field root_fs)"
  expect "overlay: the write went to the upper dir" new "$(cat "$ov/upper/etc/new" 2>/dev/null)"
  check "overlay: the lower dir untouched" test ! -e "$ov/top/etc/new"
  check "overlay: nothing mounted on the host" bash -c "! grep -q ' $work/over' /proc/self/mountinfo"
fi
if container overlay-ro arg /bin/busybox arg sh arg -c arg 'busybox touch /x 2>/dev/null && echo w=yes || echo w=no' \
  "${ALL_NS[@]}" rootfs "$ov/merged" overlay_lower "$ov/top" overlay_lower "$ov/base"; then
  finish
  expect "overlay read-only (no upper dir): not writable" no "$(field w)"
fi

# --- User namespace --------------------------------------------------------------------------------
# The kernel refuses CLONE_NEWUSER to a chrooted caller (as in tools/v2vm): skip there.
if ! unshare --user true 2>/dev/null; then
  echo "  skip  userns: this process cannot create user namespaces (chrooted?)"
elif container userns arg sh arg -c arg 'echo "uid_map=$(cat /proc/self/uid_map | tr -s " ")"; echo "id=$(id -u)"; echo "owner=$(stat -c %u /bin/busybox)"' \
  ns user "${ALL_NS[@]}" ns cgroup uid_map '0 100000 65536' gid_map '0 100000 65536' rootfs "$rootfs" env PATH=/bin; then
  finish
  expect "userns: uid_map" " 0 100000 65536" "$(field uid_map)"
  expect "userns: root inside" 0 "$(field id)"
  expect "userns: host root unmapped" 65534 "$(field owner)"
  expect "userns: exit" "0 0" "$(exit_of "$EXIT_JSON")"
fi

# --- The launcher returns at once and leaves nothing on its stdout/stderr ----------------------------
mkdir -p "$work/detach/logs"
printf '%s\0' arg /bin/sleep arg 3 "${ALL_NS[@]}" init 1 log_dir "$work/detach/logs" exit_file "$work/detach/exit.json" >"$work/detach/config"
start=$EPOCHREALTIME
out=$("$shim" run "$work/detach/config" 2>&1)   # $(...) waits for EOF: nobody may keep the pipe
elapsed_ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
if [[ $out =~ ^init=([0-9]+)\ monitor=([0-9]+)$ ]]; then
  launched+=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
  mon=${BASH_REMATCH[2]}
  check "launcher returns before the command ends (${elapsed_ms} ms)" test "$elapsed_ms" -lt 1000
  expect "monitor is a session leader" "$mon" "$(ps -o sid= -p "$mon" | tr -d ' ')"
  expect "monitor comm is corral-shim" corral-shim "$(cat "/proc/$mon/comm")"
  expect "init comm is corral-init" corral-init "$(cat "/proc/${BASH_REMATCH[1]}/comm")"
  kill -TERM "${BASH_REMATCH[1]}"
  wait_gone "$mon" 5
  expect "SIGTERM to init kills a command without a handler" "143 15" "$(exit_of "$(cat "$work/detach/exit.json")")"
else
  fail "detached launch" "$out"
fi

# --- init killed during its setup: the launch fails, nothing is left, no exit file ------------------
mkfifo "$work/fifo"   # init blocks opening it as a "cgroup.procs"
printf '%s\0' arg /bin/true "${ALL_NS[@]}" cgroup_procs "$work/fifo" exit_file "$work/fifo-exit.json" >"$work/fifo.config"
"$shim" run "$work/fifo.config" >"$work/fifo.out" 2>"$work/fifo.err" &
launcher=$!
init='' mon=''
for _ in $(seq 200); do
  mon=$(pgrep -P "$launcher") && init=$(pgrep -P "$mon") && break
  sleep 0.01
done
if [ -n "$init" ]; then
  launched+=("$init" "$mon")
  kill -KILL "$init"
  wait "$launcher"
  rc=$?
  expect "init killed in setup: launch fails" "1 corral-shim: init: killed by signal 9 (Killed) before the exec" \
    "$rc $(cat "$work/fifo.err")"
  expect "init killed in setup: no process left" "" "$(pgrep -f "$work/fifo.config")"
  check "init killed in setup: no exit file" test ! -e "$work/fifo-exit.json"
else
  fail "init killed in setup: init not found"
  kill -KILL "$launcher" 2>/dev/null
fi

# --- Device filter: the cgroup v2 BPF program built from device_rule (cap 27: CAP_MKNOD) -------------
if [ -n "$v2_root" ]; then
  devname='' devnum=''
  for b in /sys/block/*; do
    if [ -b "/dev/${b##*/}" ]; then devname=/dev/${b##*/} devnum=$(cat "$b/dev"); break; fi
  done
  dev_script='head -c 1 /dev/null && echo null=ok; echo x >/dev/zero && echo zero=ok
echo "disk=$(head -c 1 '"$devname"' >/dev/null && echo opened || echo refused)"
mknod '"$work"'/blk b '"${devnum%%:*} ${devnum##*:}"' && echo mknod=ok
echo "node=$(head -c 1 '"$work"'/blk >/dev/null 2>&1 && echo opened || echo refused)"; rm -f '"$work"'/blk'
  dev_rules=(device_rule 'c *:* m' device_rule 'b *:* m' device_rule 'c 1:3 rwm' device_rule 'c 1:5 rwm')
  check "devices-probe loads the program" "$shim" devices-probe 'c 1:3 rwm' 'b *:* m'
  make_cgroup "$v2_root" devices
  if container devfilter arg /bin/sh arg -c arg "$dev_script" "${ALL_NS[@]}" cap 27 cgroup_procs "$CG/cgroup.procs" \
      device_cgroup "$CG" "${dev_rules[@]}"; then
    finish
    expect "device filter: allowed, refused, mknod only ($devname $devnum)" \
      "null=ok zero=ok disk=refused mknod=ok node=refused" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')"
    expect_match "device filter: the refusal is EPERM" "Operation not permitted" "$ERR"
  fi
  # Started again in the same cgroup with the disk allowed: the earlier program was replaced, not kept
  # (with both attached, both would have to allow).
  if container devfilter2 arg /bin/sh arg -c arg "$dev_script" "${ALL_NS[@]}" cap 27 cgroup_procs "$CG/cgroup.procs" \
      device_cgroup "$CG" "${dev_rules[@]}" device_rule "b $devnum r"; then
    finish
    expect "device filter replaced on a second start" "null=ok zero=ok disk=opened mknod=ok node=opened" \
      "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')"
  fi
  # A kernel that refuses the program (here: no CAP_SYS_ADMIN/CAP_BPF, as an old kernel would refuse the
  # type): the launch fails with the reason, and nothing joined the cgroup or runs.
  if command -v setpriv >/dev/null; then
    make_cgroup "$v2_root" nobpf
    printf '%s\0' arg /bin/true "${ALL_NS[@]}" cgroup_procs "$CG/cgroup.procs" device_cgroup "$CG" \
      device_rule 'c 1:3 rwm' >"$work/nobpf.config"
    nobpf=(setpriv --bounding-set -sys_admin,-bpf --inh-caps -sys_admin,-bpf)
    out=$("${nobpf[@]}" "$shim" run "$work/nobpf.config" 2>&1) && rc=0 || rc=$?
    expect_match "device filter refused: the launch fails with the reason" \
      '^1 corral-shim: devices: load the BPF device program .*: Operation not permitted$' "$rc $out"
    expect "device filter refused: exit 1, nothing joined the cgroup" "1 " "$rc $(cat "$CG/cgroup.procs")"
    expect "device filter refused: no process left" "" "$(pgrep -f "$work/nobpf.config")"
    out=$("${nobpf[@]}" "$shim" devices-probe 'c 1:3 rwm' 2>&1) && rc=0 || rc=$?
    expect_match "devices-probe tells why the kernel refuses" \
      '^1 corral-shim: devices: load the BPF device program .*: Operation not permitted$' "$rc $out"
  fi
  # Without a filter the same node opens: the program, not something else, refused it above.
  make_cgroup "$v2_root" nodevices
  if container nodevfilter arg /bin/sh arg -c arg "$dev_script" "${ALL_NS[@]}" cap 27 cgroup_procs "$CG/cgroup.procs"; then
    finish
    expect "no device filter: the disk opens" "null=ok zero=ok disk=opened mknod=ok node=opened" \
      "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')"
  fi
fi

# --- Bad configs: exit 1, one line on stderr, nothing left running ---------------------------------
bad() { # name expected-stderr-regex key value...
  local name=$1 re=$2; shift 2
  local cfg=$work/bad-$name.config
  printf '%s\0' "$@" >"$cfg"
  launch "$cfg"
  local lines
  lines=$(printf '%s\n' "$L_err" | grep -c '')
  if [ "$L_rc" = 1 ] && [ "$lines" = 1 ] && [[ $L_err =~ $re ]] && [ -z "$L_out" ]; then
    pass "bad config $name: $L_err"
  else
    fail "bad config $name" "rc=$L_rc stdout=$L_out" "stderr=$L_err" "want: $re"
  fi
  local left
  left=$(pgrep -f "$cfg")
  expect "bad config $name: no process left" "" "$left"
}
bad unknown-key '^corral-shim: config .*: unknown key "bogus"$' arg /bin/true bogus 1
bad missing-arg '^corral-shim: config .*: missing arg' ns pid
bad missing-binary '^corral-shim: exec nosuch-binary: No such file or directory$' arg nosuch-binary "${ALL_NS[@]}"
bad missing-binary-init '^corral-shim: exec nosuch-binary: No such file or directory$' arg nosuch-binary \
  "${ALL_NS[@]}" init 1
printf 'data\n' >"$work/not-executable" && chmod 644 "$work/not-executable"
bad not-executable "^corral-shim: exec $work/not-executable: Permission denied\$" arg "$work/not-executable" \
  "${ALL_NS[@]}"
bad missing-cgroup "^corral-shim: join cgroup /.*/$tag-nope/cgroup.procs: No such file or directory$" \
  arg /bin/true "${ALL_NS[@]}" cgroup_procs "${v1_memory:-$v2_root}/$tag-nope/cgroup.procs"
bad missing-rootfs '^corral-shim: bind rootfs /nonexistent-rootfs: No such file or directory$' \
  arg /bin/true "${ALL_NS[@]}" rootfs /nonexistent-rootfs
bad host-root-no-rootfs '^corral-shim: config .*: host_root needs rootfs \(the mount point\) and no overlay$' \
  arg /bin/true "${ALL_NS[@]}" host_root 1
bad overlay-upper-alone '^corral-shim: config .*: overlay_upper and overlay_work go together$' \
  arg /bin/true "${ALL_NS[@]}" rootfs /tmp overlay_lower /tmp overlay_upper /tmp
bad overlay-no-rootfs '^corral-shim: config .*: overlay_lower, overlay_upper and overlay_work need rootfs' \
  arg /bin/true "${ALL_NS[@]}" overlay_lower /tmp
bad overlay-missing-layer '^corral-shim: mount overlay on /.*: No such file or directory$' \
  arg /bin/true "${ALL_NS[@]}" rootfs "$ov/merged" overlay_lower /nonexistent-layer overlay_lower "$ov/base"
bad device-rule '^corral-shim: devices: device rule "x 1:3 rwm": expected "TYPE MAJOR:MINOR ACCESS"' \
  arg /bin/true "${ALL_NS[@]}" device_cgroup "${v2_root:-/}" device_rule 'c 1:5 rwm' device_rule 'x 1:3 rwm'
bad device-cgroup-missing "^corral-shim: devices: open /nonexistent-cgroup: No such file or directory$" \
  arg /bin/true "${ALL_NS[@]}" device_cgroup /nonexistent-cgroup
bad missing-log-dir '^corral-shim: open log_dir /nonexistent-logs: No such file or directory$' \
  arg /bin/true log_dir /nonexistent-logs

# --- net_join (--network container:NAME): init in another container's netns, the monitor in its own ------
OTHER_NS=(ns pid ns mount ns uts ns ipc)
if container netpeer arg /bin/sleep arg 30 "${ALL_NS[@]}"; then
  peer_init=$L_init peer_mon=$L_mon
  if container netjoiner arg /bin/sleep arg 30 "${OTHER_NS[@]}" net_join "$peer_init $peer_mon"; then
    expect "net_join: init is in the peer's netns" "$(readlink /proc/"$peer_init"/ns/net)" \
      "$(readlink /proc/"$L_init"/ns/net)"
    expect "net_join: the monitor is back in its own" "$(readlink /proc/self/ns/net)" \
      "$(readlink /proc/"$L_mon"/ns/net)"
    kill -KILL "$L_init"
    wait_gone "$L_mon" 10 || fail "net_join: joiner's monitor exits" "monitor $L_mon still running"
  fi
  kill -KILL "$peer_init"
  wait_gone "$peer_mon" 10 || fail "net_join: peer's monitor exits" "monitor $peer_mon still running"
  # the same pids once the peer is gone, and a live pid that is not that monitor's child: refused, nothing made
  bad net-join-gone '^corral-shim: network: the container whose network is joined is not running \(its init is gone\)$' \
    arg /bin/true "${OTHER_NS[@]}" net_join "$peer_init $peer_mon"
  bad net-join-not-its-child '^corral-shim: network: the container whose network is joined is not running' \
    arg /bin/true "${OTHER_NS[@]}" net_join "$$ 2"
fi

# --- Spawner mode: the agent's long-lived caller forks each monitor itself ---------------------------
# gone PID: no /proc entry at all (not even a zombie: the spawner, its parent, has reaped it).
gone() {
  local i
  for ((i = 0; i < 500; i++)); do
    [ -e "/proc/$1" ] || return 0
    sleep 0.01
  done
  return 1
}
coproc SPAWNER { exec "$shim" spawner 2>"$work/spawner.err"; }
spawner_pid=$SPAWNER_PID
launched+=("$spawner_pid")
ask() { # CONFIG -> ANSWER
  printf '%s\n' "$1" >&"${SPAWNER[1]}"
  ANSWER=''
  IFS= read -r -t 10 ANSWER <&"${SPAWNER[0]}"
}
spawned() { # CONFIG: asks the spawner; sets L_init and L_mon as launch does
  ask "$1"
  L_init='' L_mon=''
  if [[ $ANSWER =~ ^OK\ init=([0-9]+)\ monitor=([0-9]+)$ ]]; then
    L_init=${BASH_REMATCH[1]} L_mon=${BASH_REMATCH[2]}
    launched+=("$L_init" "$L_mon")
  fi
}
C=$work/spawned-true; mkdir -p "$C/logs"
printf '%s\0' arg /bin/true "${ALL_NS[@]}" log_dir "$C/logs" exit_file "$C/exit.json" >"$C/config"
spawned "$C/config"
expect_match "spawner: launches" '^OK init=[0-9]+ monitor=[0-9]+$' "$ANSWER"
if [ -n "$L_mon" ]; then
  check "spawner: the exited monitor is reaped, no zombie left" gone "$L_mon"
  finish
  expect "spawner: exit file" "0 0" "$(exit_of "$EXIT_JSON")"
fi
printf '%s\0' arg /bin/true bogus 1 >"$work/spawner-bad.config"
ask "$work/spawner-bad.config"
expect_match "spawner: a bad config is an error line" '^ERR config .*: unknown key "bogus"$' "$ANSWER"
expect "spawner: a bad config leaves no process" "" "$(pgrep -P "$spawner_pid")"
printf '%s\0' arg nosuch-binary "${ALL_NS[@]}" >"$work/spawner-noexec.config"
ask "$work/spawner-noexec.config"
expect "spawner: a failed exec is an error line" "ERR exec nosuch-binary: No such file or directory" "$ANSWER"
expect "spawner: a failed exec leaves no process" "" "$(pgrep -P "$spawner_pid"; pgrep -f "$work/spawner-noexec.config")"
C=$work/spawned-sleep; mkdir -p "$C/logs"
printf '%s\0' arg /bin/sleep arg 1 "${ALL_NS[@]}" log_dir "$C/logs" exit_file "$C/exit.json" >"$C/config"
spawned "$C/config"
expect_match "spawner: still answers after failures" '^OK init=[0-9]+ monitor=[0-9]+$' "$ANSWER"
if [ -n "$L_mon" ]; then
  expect "spawner: the monitor is its child (no launcher in between)" "$spawner_pid" \
    "$(s=$(cat "/proc/$L_mon/stat"); s=${s##*) }; echo "$s" | cut -d' ' -f2)"
  kill -KILL "$spawner_pid"
  wait "$spawner_pid" 2>/dev/null
  check "spawner: its monitor outlives it" alive "$L_mon"
  check "spawner: its container outlives it" alive "$L_init"
  finish
  expect "spawner: the orphaned monitor still writes the exit file" "0 0" "$(exit_of "$EXIT_JSON")"
fi
expect "spawner: nothing on stderr" "" "$(cat "$work/spawner.err")"

# --- Launch time -----------------------------------------------------------------------------------
bench_args=(arg /bin/true "${ALL_NS[@]}")
if [ -n "$v1_memory" ]; then make_cgroup "$v1_memory" bench && bench_args+=(cgroup_procs "$CG/cgroup.procs"); fi
if [ -n "$v2_root" ]; then make_cgroup "$v2_root" bench && bench_args+=(cgroup_procs "$CG/cgroup.procs"); fi
printf '%s\0' "${bench_args[@]}" >"$work/bench.config"
median_ms() { # runs "$@" 50 times, prints the median wall time in ms
  local i t0 t1 times=()
  for i in $(seq 50); do
    t0=$EPOCHREALTIME
    "$@" >>"$work/bench.out"
    t1=$EPOCHREALTIME
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", (a[25] + a[26]) / 2 }'
}
median=$(median_ms "$shim" run "$work/bench.config")
while read -r _ mon; do launched+=("${mon#monitor=}"); done <"$work/bench.out"
echo "  info  launch of /bin/true (pid+mount+uts+ipc+net, $(( (${#bench_args[@]} - 12) / 2 )) cgroups): median ${median} ms over 50"
if command -v unshare >/dev/null; then
  echo "  info  for reference, unshare --fork --pid --mount --uts --ipc --net --mount-proc /bin/true:" \
    "median $(median_ms unshare --fork --pid --mount --uts --ipc --net --mount-proc /bin/true) ms"
fi

echo "corral-shim tests: $passes passed, $failures failed"
[ "$failures" = 0 ]
