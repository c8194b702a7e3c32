#!/usr/bin/env bash
# The CLI side by side with Docker's, in one run on one machine: hyperfine times `java -version` (the JVM's floor),
# corral's and docker's ps, version, inspect, stop and `run --rm IMAGE true`, then prints each command's median and
# its ratio to the floor and to docker's. A private Corral daemon and a private dockerd (own data root, socket, no
# iptables, no bridge) serve the same busybox image, loaded from one docker-archive.
#   sudo bench/cli-vs-docker.sh [RUNS]      (needs: a built agent jar, busybox-static, dockerd, hyperfine, jq)
set -euo pipefail
runs="${1:-20}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
for t in dockerd docker hyperfine jq busybox; do
  command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 2; }
done
work="$(mktemp -d /tmp/corral-bench-cli.XXXXXX)"
parent="/corral-bench-cli-$$"
agent=""
dockerd_pid=""
cleanup() {
  # the containers first: they outlive their daemon (a running one kept its cgroup from the rmdir below)
  [ -n "$agent" ] && "$repo/bin/corral" rm -f web done >/dev/null 2>&1 || true
  [ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null || true
  if [ -n "$dockerd_pid" ]; then
    docker -H "unix://$work/docker.sock" rm -f web done >/dev/null 2>&1 || true
    kill -TERM "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  fi
  for d in /sys/fs/cgroup/*/"${parent#/}"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  umount -R "$work/docker-data" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A docker-archive of a busybox rootfs: one layer, a config naming its diff id.
mkdir -p "$work/rootfs/bin" "$work/img"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in true sh sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
tar -C "$work/rootfs" -cf "$work/img/layer.tar" .
diff="sha256:$(sha256sum "$work/img/layer.tar" | cut -d' ' -f1)"
jq -n --arg d "$diff" '{architecture:"amd64",os:"linux",config:{Cmd:["sh"]},rootfs:{type:"layers",diff_ids:[$d]}}' \
  > "$work/img/config.json"
echo '[{"Config":"config.json","RepoTags":["bench/busybox:1"],"Layers":["layer.tar"]}]' > "$work/img/manifest.json"
tar -C "$work/img" -cf "$work/busybox.tar" manifest.json config.json layer.tar

# Corral's daemon, private.
export CORRAL_HOST="unix://$work/corral.sock"
"$repo/bin/corral" serve --socket "$work/corral.sock" --state-dir "$work/corral-state" --cgroup-parent "$parent" \
  --listen 127.0.0.1:0 >"$work/agent.log" 2>&1 &
agent=$!
bench_wait_agent "$work/agent.log" "$agent" "$work/corral.sock" 600 >/dev/null || exit 1
"$repo/bin/corral" image import "$work/busybox.tar" --name bench/busybox:1 >/dev/null
"$repo/bin/corral" run -d --name web --image bench/busybox:1 sleep 600 >/dev/null
"$repo/bin/corral" run --name done --image bench/busybox:1 true # stop times a stop of an exited container

# Docker's, private.
dockerd --host "unix://$work/docker.sock" --data-root "$work/docker-data" --exec-root "$work/docker-exec" \
  --pidfile "$work/docker.pid" --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
D=(docker -H "unix://$work/docker.sock")
for _ in $(seq 100); do "${D[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
"${D[@]}" load -i "$work/busybox.tar" >/dev/null
"${D[@]}" run -d --name web --network none bench/busybox:1 sleep 600 >/dev/null
"${D[@]}" run --name done --network none bench/busybox:1 true

C="$repo/bin/corral"
hyperfine -N -w 3 -r "$runs" --export-json "$work/h.json" \
  -n floor 'java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -version' \
  -n corral-ps "$C ps" -n docker-ps "${D[*]} ps" \
  -n corral-version "$C --version" -n docker-version "${D[*]} version" \
  -n corral-inspect "$C inspect web" -n docker-inspect "${D[*]} inspect web" \
  -n corral-stop "$C stop done" -n docker-stop "${D[*]} stop done" \
  -n corral-run "$C run --rm --memory 64m --cpus 0.5 --image bench/busybox:1 true" \
  -n docker-run "${D[*]} run --rm --network none -m 64m --cpus 0.5 bench/busybox:1 true" \
  -i >/dev/null
# Wall time is the target; CPU time (user + system) is printed too, as it moves less when the machine is busy.
jq -r '
  (.results | map({(.command): .}) | add) as $r
  | def cpu(x): (x.user + x.system);
  .results[] | select(.command | startswith("corral-"))
  | (.command | sub("corral-"; "")) as $c | $r["docker-" + $c] as $d | $r.floor as $f
  | "\($c): wall corral \(.median * 1000 | round) ms, docker \($d.median * 1000 | round) ms (x\(.median / $d.median * 100 | round / 100)), floor \($f.median * 1000 | round) ms (x\(.median / $f.median * 100 | round / 100)); cpu corral \(cpu(.) * 1000 | round) ms, docker \(cpu($d) * 1000 | round) ms, floor \(cpu($f) * 1000 | round) ms (x\(cpu(.) / cpu($f) * 100 | round / 100))"' \
  "$work/h.json"
