#!/usr/bin/env bash
# Renders every dashboard to an SVG (docs/images/dashboards/) from live data: starts an agent (bin/corral, built)
# with demo-policy.json and a few loaded containers under a /corral-test-render-* parent and a Prometheus
# (Debian's) with the shipped rules, waits WAIT seconds (default 180; a third of the way in, web joins batch on
# CPU 1 and they compete by their class weights, 3 and 0.5), draws with render-svg.py, then removes
# everything. Needs root. DashboardDataTest runs its agent with demo-policy.json too.
set -euo pipefail
cd "$(dirname "$0")/../.."
WAIT=${WAIT:-180}
OUT=${OUT:-docs/images/dashboards}
tmp=$(mktemp -d /tmp/corral-test-render.XXXXXX)
# backup's writes: a dir of its own, bound writable (the containers' host root is read-only; $tmp holds the agent's
# socket and state, which no bind may expose)
writes=$(mktemp -d /var/tmp/corral-test-render-writes.XXXXXX)
parent=/corral-test-render-$$
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
agent_port=$(free_port)
prom_port=$(free_port)
export CORRAL_HOST=unix://$tmp/corral.sock
agent_pid= prom_pid=

cleanup() {
  for c in api batch cache backup leaky web; do bin/corral rm -f "$c" >/dev/null 2>&1 || true; done
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do [ -d "$h$parent" ] && rmdir "$h$parent" 2>/dev/null; done
  rm -rf "$tmp" "$writes"
}
trap cleanup EXIT

bin/corral serve --listen "127.0.0.1:$agent_port" --state-dir "$tmp/state" --socket "$tmp/corral.sock" \
  --cgroup-parent "$parent" --interval 1s --policy dashboards/tools/demo-policy.json >"$tmp/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do [ -S "$tmp/corral.sock" ] && break; sleep 0.1; done

bin/corral run -d --rootfs host --name api --cpus 0.3 --memory 128m --pids-limit 64 sh -c 'while :; do :; done' >/dev/null
bin/corral run -d --rootfs host --name batch --label tier=batch --cpus 1 --cpuset-cpus 1 --memory 256m sh -c 'while :; do :; done' >/dev/null
bin/corral run -d --rootfs host --name cache --memory 32m \
  sh -c 'while :; do dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; sleep 5; done' >/dev/null
bin/corral run -d --rootfs host --name backup --memory 64m --device-write-bps "${DEVICE:-/dev/vda}:4m" -v "$writes:$writes:rw" \
  sh -c "while :; do dd if=/dev/zero of=$writes/backup bs=1M count=8 oflag=direct status=none; done" >/dev/null
bin/corral run -d --rootfs host --name leaky --memory 512m \
  awk 'BEGIN { while (1) { for (j = 0; j < 32; j++) a[i++] = sprintf("%8000s", ""); system("sleep 0.25") } }' \
  >/dev/null

cat >"$tmp/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$PWD/dashboards/rules/corral.rules.yml]
scrape_configs:
  - job_name: corral
    static_configs: [{targets: ["127.0.0.1:$agent_port"]}]
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
sleep $((WAIT / 3))
bin/corral run -d --rootfs host --name web --cpuset-cpus 1 --memory 64m sh -c 'while :; do :; done' >/dev/null
sleep $((WAIT - WAIT / 3))

mkdir -p "$OUT"
for d in dashboards/grafana/dashboards/*.json; do
  dashboards/tools/render-svg.py --prometheus "http://127.0.0.1:$prom_port" --dashboard "$d" \
    --var "instance=127.0.0.1:$agent_port" --var "container=$parent/.+" --rate-interval 15s \
    --range "$WAIT" --out "$OUT/$(basename "$d" .json).svg"
  echo "$OUT/$(basename "$d" .json).svg"
done
