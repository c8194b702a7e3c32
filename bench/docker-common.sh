# shellcheck shell=bash
# A private dockerd for benchmarks (as agent/src/test/.../foreign/DockerDaemon.java): its own socket, data-root,
# exec-root and pidfile in a fresh directory, --iptables=false --bridge=none (nothing of the host's network is
# touched, no docker0), and a busybox image imported from a tar the script builds (no registry). Source it, then
#   bench_docker_start DIR         dockerd on DIR/docker.sock (BENCH_DOCKER_SOCK), the image BENCH_DOCKER_IMAGE
#   bench_docker_sleepers N PARENT N `sleep` containers under the cgroup PARENT (--cgroup-parent), 4 at a time
#   bench_docker_cleanup           removes the containers, stops dockerd, deletes DIR (call it from the EXIT trap)
BENCH_DOCKER_DIR= BENCH_DOCKER_SOCK= BENCH_DOCKER_PID=
BENCH_DOCKER_IMAGE=corral-bench/busybox:bench

bench_docker() { docker -H "unix://$BENCH_DOCKER_SOCK" "$@"; }

bench_docker_start() {
  local dir=$1 i
  command -v dockerd > /dev/null || { echo "dockerd (docker.io) is not installed" >&2; return 1; }
  BENCH_DOCKER_DIR=$dir BENCH_DOCKER_SOCK=$dir/docker.sock
  mkdir -p "$dir"
  dockerd --host "unix://$BENCH_DOCKER_SOCK" --data-root "$dir/data" --exec-root "$dir/x" \
    --pidfile "$dir/dockerd.pid" --iptables=false --bridge=none --ip-masq=false > "$dir/dockerd.log" 2>&1 &
  BENCH_DOCKER_PID=$!
  for i in $(seq 300); do
    bench_docker version > /dev/null 2>&1 && break
    kill -0 "$BENCH_DOCKER_PID" 2> /dev/null || { cat "$dir/dockerd.log" >&2; return 1; }
    sleep 0.2
  done
  bench_docker version > /dev/null || { echo "dockerd did not start" >&2; return 1; }
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/tmp"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  ln -s busybox "$dir/rootfs/bin/sh"
  ln -s busybox "$dir/rootfs/bin/sleep"
  tar -C "$dir/rootfs" -cf "$dir/image.tar" .
  bench_docker import "$dir/image.tar" "$BENCH_DOCKER_IMAGE" > /dev/null
}

bench_docker_sleepers() {
  local n=$1 parent=$2
  seq "$n" | xargs -P 4 -I{} docker -H "unix://$BENCH_DOCKER_SOCK" run -d --network none \
    --cgroup-parent "$parent" --name "corral-bench-$$-{}" "$BENCH_DOCKER_IMAGE" /bin/sleep 100000 > /dev/null
}

bench_docker_cleanup() {
  [ -n "$BENCH_DOCKER_PID" ] || return 0
  local ids i
  ids=$(bench_docker ps -aq 2> /dev/null || true)
  # shellcheck disable=SC2086 # one id a word
  [ -z "$ids" ] || echo $ids | xargs -n 20 docker -H "unix://$BENCH_DOCKER_SOCK" rm -f > /dev/null 2>&1 || true
  kill -TERM "$BENCH_DOCKER_PID" 2> /dev/null || true
  for i in $(seq 150); do kill -0 "$BENCH_DOCKER_PID" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$BENCH_DOCKER_PID" 2> /dev/null || true
  wait "$BENCH_DOCKER_PID" 2> /dev/null || true
  # mounts a killed dockerd left (deepest first)
  awk -v d="$BENCH_DOCKER_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r \
    | while read -r m; do umount -l "$m" 2> /dev/null || true; done
  rm -rf "$BENCH_DOCKER_DIR"
  BENCH_DOCKER_PID=
}
