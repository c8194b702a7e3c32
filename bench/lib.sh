# shellcheck shell=bash
# Sourced by the bench scripts (through cgroup-tree.sh and launch-common.sh, or directly): what they share.

# bench_wait_agent LOG [PID] [SOCKET] [TRIES]: waits, 0.1 s a try (TRIES, default 300), for `corral serve`'s
# "serving on http://127.0.0.1:PORT" line in LOG (and for SOCKET to exist, when given) while PID (when given) is
# alive; prints PORT. When it does not come: the log's last lines on stderr, status 1.
#   port=$(bench_wait_agent "$work/agent.log" "$pid" "$work/corral.sock") || exit 1
bench_wait_agent() {
  local log=$1 pid=${2:-} sock=${3:-} tries=${4:-300} port i
  for ((i = 0; i < tries; i++)); do
    port=$(sed -n 's|.*serving on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" 2>/dev/null | head -1)
    if [ -n "$port" ] && { [ -z "$sock" ] || [ -S "$sock" ]; }; then
      echo "$port"
      return 0
    fi
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the agent did not start (${pid:+pid $pid, }$log):" >&2
  tail -5 "$log" >&2 2>/dev/null || true
  return 1
}
