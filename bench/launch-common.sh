# shellcheck shell=bash
# Sourced by launch-vs-runc-crun.sh and launch-ab.sh: the busybox rootfs and OCI bundle every tool runs, Corral's
# daemons (one per LAUNCH_JARS entry), the one request they are timed with, and crun's run. The caller sets repo,
# work (a fresh temp dir), parent (the daemons' cgroup parent prefix) and oci (the OCI bundle's cgroup name, a
# corral-bench-* name), and traps launch_cleanup on EXIT.

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

agent_pids=()
variants=()
declare -A ports tokens

launch_cleanup() {
  local p d
  for p in "${agent_pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  for d in /sys/fs/cgroup/*/"${parent#/}"* /sys/fs/cgroup/*/"$oci"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$work"
}

launch_need() { # TOOL...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
  done
}

# One busybox rootfs for everyone (sets rootfs), and an OCI bundle for runc and crun with the same limits and
# namespaces as the daemons' request: 64 MiB, 0.5 CPU, pid/net/ipc/uts/mount.
launch_bundle() {
  rootfs=$work/bundle/rootfs
  mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp}
  cp /usr/bin/busybox "$rootfs/bin/busybox"
  # Relative links: `busybox --install -s` writes absolute host paths, which do not resolve inside the rootfs
  # (runs before 08:25 UTC on 2026-11-29 timed a failed exec for every tool because of that).
  local a
  for a in true sh; do ln -sf busybox "$rootfs/bin/$a"; done
  (cd "$work/bundle" && runc spec)
  jq --arg cg "/$oci/c" '.process.args=["/bin/true"] | .process.terminal=false | .root.readonly=true
    | .linux.resources={"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000}}
    | .linux.cgroupsPath=$cg
    | .linux.namespaces=[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]' \
    "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"
}

# Starts one daemon per "NAME=JAR" word of $1, each on its own state dir, socket and cgroup parent; sets variants,
# and ports and tokens for the TCP request.
launch_start_daemons() {
  local v name
  for v in $1; do
    name=${v%%=*}
    mkdir -p "$work/$name"
    cp "${v#*=}" "$work/$name/corral.jar"
    CORRAL_JAR="$work/$name/corral.jar" "$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/$name/state" \
      --cgroup-parent "$parent-$name" --socket "$work/$name/corral.sock" --interval 1s --default-network none \
      >"$work/$name/agent.log" 2>&1 &
    agent_pids+=($!)
    variants+=("$name")
  done
  for name in "${variants[@]}"; do
    ports[$name]=$(bench_wait_agent "$work/$name/agent.log" "" "$work/$name/corral.sock" 100) || exit 1
    tokens[$name]=$(cat "$work/$name/state/api-token" 2>/dev/null || true)
  done
}

# VARIANT I: POST ?start=true&wait=true&rm=true sent by bash itself over TCP (no process is started); true on 200.
corral_tcp() {
  local body line status
  printf -v body '{"name":"t%s","command":["/bin/true"],"rootfs":"%s","readOnlyRootfs":true,"limits":{"memory":{"max":"64m"},"cpu":{"cpus":0.5}}}' "$2" "$rootfs"
  exec 3<>"/dev/tcp/127.0.0.1/${ports[$1]}"
  printf 'POST /v1/containers?start=true&wait=true&rm=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${tokens[$1]}" "${#body}" "$body" >&3
  IFS= read -r status <&3
  while IFS= read -r line <&3; do :; done
  exec 3<&-
  [[ $status == *" 200 "* ]]
}

# crun 1.8 refuses the hybrid layout: hide the cgroup2 mount in a private mount namespace (environment notes).
crun_run() { unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run --bundle '$work/bundle' 'k$1'"; }
