#!/usr/bin/env bash
# Issue 19 §3 in one run: a launch of /bin/true (busybox, 64 MiB + 0.5 CPU) with networking on, Corral beside Docker
# and crun, rounds interleaved (each round runs every variant once, the order rotating), so that all see the same load.
#   through the CLI, end to end:  corral run --rm --network none | bridge | bridge -p 127.0.0.1::80 --image IMG true
#                                 docker run --rm IMG true (its default bridge, iptables on) | with -p 127.0.0.1::80
#                                 java -version with the CLI's flags (the floor under any JVM client)
#   through the daemon's one request (POST ?start=true&wait=true&rm=true from bash over TCP, no process):
#                                 none | bridge | bridge + published port, beside `crun run` of the same bundle
# Prints each variant's median wall time, the CLI clients' CPU (user + system of the process tree, mean), and the ratios
# the issue sets targets for. Everything global has a name of its own and is removed on exit: Corral's bridge and nft
# table, Docker's bridge (made here, given to dockerd with --bridge), every iptables rule and chain dockerd added
# (the rule sets are compared with the ones before), dockerd's data, exec root and pidfile, cgroups.
#   sudo bench/launch-networking.sh [ROUNDS]     (needs: a built jar, dockerd, crun, runc, jq, iptables, busybox)
set -euo pipefail
rounds=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/corral-bench-lnet.XXXXXX)
parent=/corral-bench-lnet-$$
oci=corral-bench-lnet-oci-$$
cbridge=cnl$((RANDOM % 10000))
dbridge=dnl$((RANDOM % 10000))
csubnet=10.$((200 + RANDOM % 25)).$((RANDOM % 256)).0/24
dnet=10.$((226 + RANDOM % 25)).$((RANDOM % 256))
agent= dockerd_pid=
# shellcheck source=bench/launch-common.sh
. "$repo/bench/launch-common.sh"
launch_need dockerd docker crun runc jq iptables iptables-save busybox

for t in filter nat; do iptables -t "$t" -S > "$work/ipt-$t.before"; done
nft list tables > "$work/nft-tables.before"
forward_policy=$(iptables -S FORWARD | sed -n 's/^-P FORWARD //p')

# Removes what dockerd added to iptables: its rules in the chains that were there before, then its own chains.
iptables_undo() {
  local t line chain
  for t in filter nat; do
    [ -f "$work/ipt-$t.before" ] || continue
    iptables -t "$t" -S > "$work/ipt-$t.after"
    grep -Fxv -f "$work/ipt-$t.before" "$work/ipt-$t.after" > "$work/ipt-$t.new" || true
    while read -r line; do # rules inside the new chains go with the chains
      [[ $line == "-N "* ]] && iptables -t "$t" -F "${line#-N }" 2>/dev/null || true
    done < "$work/ipt-$t.new"
    while read -r line; do
      if [[ $line == "-A "* ]]; then
        chain=${line#-A }; chain=${chain%% *}
        grep -Fxq -- "-N $chain" "$work/ipt-$t.new" || eval "iptables -t $t -D ${line#-A }" 2>/dev/null || true
      fi
    done < "$work/ipt-$t.new"
    while read -r line; do
      [[ $line == "-N "* ]] && iptables -t "$t" -X "${line#-N }" 2>/dev/null || true
    done < "$work/ipt-$t.new"
    iptables -t "$t" -S > "$work/ipt-$t.final"
    if ! diff -q "$work/ipt-$t.before" "$work/ipt-$t.final" >/dev/null; then
      echo "warning: iptables $t differs from before the run:" >&2
      diff "$work/ipt-$t.before" "$work/ipt-$t.final" >&2 || true
    fi
  done
  [ -n "$forward_policy" ] && iptables -P FORWARD "$forward_policy"
  # the nf_tables tables iptables made for dockerd, now holding no rule
  nft list tables | grep -Fxv -f "$work/nft-tables.before" | while read -r _ family name; do
    nft list table "$family" "$name" | grep -Eq '^\s+(jump|goto|counter|ip |iifname|oifname|meta|masquerade|dnat|accept|drop|return)' \
      || nft delete table "$family" "$name"
  done
}

cleanup() {
  set +e
  [ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  if [ -n "$dockerd_pid" ]; then
    ids=$(docker -H "unix://$work/docker.sock" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086 # one id a word
    [ -z "$ids" ] || docker -H "unix://$work/docker.sock" rm -f $ids >/dev/null 2>&1
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null
    awk -v d="$work/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    for d in /sys/fs/cgroup/*/docker-lnet-$$; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  fi
  iptables_undo
  ip link del "$dbridge" 2>/dev/null
  ip link del "$cbridge" 2>/dev/null
  nft delete table inet "corral_$cbridge" 2>/dev/null
  launch_cleanup
}
trap cleanup EXIT INT TERM

# The same busybox for everyone: crun's bundle (launch_bundle), Corral's and Docker's image (one docker-archive).
launch_bundle
mkdir -p "$work/img"
tar -C "$rootfs" -cf "$work/img/layer.tar" .
diff_id="sha256:$(sha256sum "$work/img/layer.tar" | cut -d' ' -f1)"
jq -n --arg d "$diff_id" '{architecture:"amd64",os:"linux",config:{Cmd:["sh"]},rootfs:{type:"layers",diff_ids:[$d]}}' \
  > "$work/img/config.json"
echo '[{"Config":"config.json","RepoTags":["corral-bench/lnet:1"],"Layers":["layer.tar"]}]' > "$work/img/manifest.json"
tar -C "$work/img" -cf "$work/image.tar" manifest.json config.json layer.tar
image=corral-bench/lnet:1

# Corral: a private daemon with its own bridge and subnet.
export CORRAL_HOST="unix://$work/corral.sock"
"$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/state" --cgroup-parent "$parent" \
  --socket "$work/corral.sock" --bridge "$cbridge" --bridge-subnet "$csubnet" >"$work/agent.log" 2>&1 &
agent=$!
port=$(bench_wait_agent "$work/agent.log" "$agent" "$work/corral.sock") || exit 1
token=$(cat "$work/state/api-token")
"$repo/bin/corral" image import "$work/image.tar" --name "$image" >/dev/null

# Docker: a private dockerd with iptables on, on a bridge of its own (made here: dockerd takes an existing one).
ip link add "$dbridge" type bridge
ip addr add "$dnet.1/24" dev "$dbridge"
ip link set "$dbridge" up
dockerd --host "unix://$work/docker.sock" --data-root "$work/docker-data" --exec-root "$work/docker-x" \
  --pidfile "$work/docker.pid" --bridge "$dbridge" --iptables=true --ip-forward=false \
  --cgroup-parent "docker-lnet-$$" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
D=(docker -H "unix://$work/docker.sock")
for _ in $(seq 300); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
"${D[@]}" version >/dev/null || { tail -20 "$work/dockerd.log" >&2; exit 1; }
"${D[@]}" load -i "$work/image.tar" >/dev/null

# The daemon's one request (bash over TCP); $2: the container's name, $1: none | bridge | publish.
daemon_run() {
  local body line status net=$1 ports=""
  [ "$net" = publish ] && net=bridge ports=',"ports":[{"hostIp":"127.0.0.1","containerPort":80}]'
  printf -v body '{"name":"t%s","command":["/bin/true"],"rootfs":"%s","readOnlyRootfs":true,"namespaces":{"network":"%s"},"limits":{"memory":{"max":"64m"},"cpu":{"cpus":0.5}}%s}' \
    "$2" "$rootfs" "$net" "$ports"
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'POST /v1/containers?start=true&wait=true&rm=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$token" "${#body}" "$body" >&3
  IFS= read -r status <&3
  while IFS= read -r line <&3; do :; done
  exec 3<&-
  [[ $status == *" 200 "* ]]
}

C="$repo/bin/corral"
declare -A cmd
cmd[cli-none]="$C run --rm --network none -m 64m --cpus 0.5 --image $image true"
cmd[cli-bridge]="$C run --rm --network bridge -m 64m --cpus 0.5 --image $image true"
cmd[cli-publish]="$C run --rm --network bridge -p 127.0.0.1::80 -m 64m --cpus 0.5 --image $image true"
cmd[docker-bridge]="${D[*]} run --rm -m 64m --cpus 0.5 $image true"
cmd[docker-publish]="${D[*]} run --rm -p 127.0.0.1::80 -m 64m --cpus 0.5 $image true"
cmd[docker-none]="${D[*]} run --rm --network none -m 64m --cpus 0.5 $image true"
cmd[java-floor]="java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -version"
cli=(cli-none cli-bridge cli-publish docker-bridge docker-publish docker-none java-floor)
daemon=(one-none one-bridge one-publish crun)

declare -A wall cpu
n=0
one() { # VARIANT: appends its wall time (us) and children's CPU (ticks)
  local v=$1 t0 t1 c0 c1 st
  n=$((n + 1))
  read -ra st < "/proc/$$/stat"; c0=$(( st[15] + st[16] )) # the children's user + system, in ticks
  t0=$EPOCHREALTIME
  case $v in
    one-*) daemon_run "${v#one-}" "$n" ;;
    crun) crun_run "$n" ;;
    java-floor) ${cmd[$v]} 2>/dev/null ;;
    *) ${cmd[$v]} >/dev/null ;;
  esac || { echo "$v failed" >&2; exit 1; }
  t1=$EPOCHREALTIME
  read -ra st < "/proc/$$/stat"; c1=$(( st[15] + st[16] ))
  wall[$v]+=" $(( ${t1/./} - ${t0/./} ))"
  cpu[$v]=$(( ${cpu[$v]:-0} + c1 - c0 ))
}
# warm-up: a few of each
for _ in 1 2 3; do for v in "${cli[@]}"; do one "$v"; done; done
for _ in $(seq 20); do for v in "${daemon[@]}"; do one "$v"; done; done
wall=() cpu=()
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
  for i in "${!cli[@]}"; do one "${cli[$(( (i + r) % ${#cli[@]} ))]}"; done
  for _ in 1 2 3 4 5; do
    for i in "${!daemon[@]}"; do one "${daemon[$(( (i + r) % ${#daemon[@]} ))]}"; done
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)/1000}'; }
declare -A med
hz=$(getconf CLK_TCK)
echo "rounds=$rounds (CLI: 1 run of each a round; daemon and crun: 5); load average $load0 -> $load1"
for v in "${cli[@]}" "${daemon[@]}"; do
  med[$v]=$(echo "${wall[$v]}" | median)
  runs=$(echo "${wall[$v]}" | wc -w)
  case $v in
    one-*|crun) printf '%-15s median %8.2f ms\n' "$v" "${med[$v]}" ;;
    *) printf '%-15s median %8.2f ms   client CPU %6.1f ms\n' "$v" "${med[$v]}" \
         "$(echo "${cpu[$v]} * 1000 / $hz / $runs" | bc -l)" ;;
  esac
done
ratio() { echo "scale=3; $1 / $2" | bc -l; }
echo "CLI corral bridge / docker run --rm (bridge):       $(ratio "${med[cli-bridge]}" "${med[docker-bridge]}")  (target <= 0.1)"
echo "CLI corral bridge -p / docker run --rm -p:          $(ratio "${med[cli-publish]}" "${med[docker-publish]}")"
echo "CLI corral none / docker run --rm --network none:   $(ratio "${med[cli-none]}" "${med[docker-none]}")"
echo "java -version (the JVM's floor) / docker run --rm:  $(ratio "${med[java-floor]}" "${med[docker-bridge]}")  (0.1x docker: $(echo "${med[docker-bridge]} / 10" | bc -l | xargs printf '%.1f') ms)"
echo "daemon bridge - crun (ms):                          $(echo "${med[one-bridge]} - ${med[crun]}" | bc -l)  (target <= 5)"
echo "daemon bridge + port - crun (ms):                   $(echo "${med[one-publish]} - ${med[crun]}" | bc -l)"
echo "daemon none / crun:                                 $(ratio "${med[one-none]}" "${med[crun]}")  (target <= 0.9)"
