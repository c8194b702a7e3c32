#!/usr/bin/env bash
# The collection targets of issue 19 in one run (docs/benchmarks.md, "Collection"): the agent beside the raw reader
# (raw-reader.c reading every file of every cgroup every second), both at the same time over the same tree, for
#   1,000 cgroups with 100 busy (and 10 scrapes of 1,000 cgroups, the agent's RSS after them),
#   100 cgroups with 10 busy,
#   100 and 1,000 cgroups all busy.
# A busy cgroup holds bench/ticker.c (its CPU usage moves every second), an idle one a sleep.
#
#   sudo bench/collection.sh [--warmup 180] [--window 60] [--jar 'NAME=PATH [JAVA OPTS]']...
#
# Prints one line per configuration and jar (agent-beside-raw.sh's), with the load average at its end.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
warmup=180 window=60 jars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --warmup) warmup=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --jar) jars+=(--jar "$2"); shift 2 ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
  esac
done
run() { "$here/agent-beside-raw.sh" --warmup "$warmup" --window "$window" "${jars[@]}" "$@" | grep -v '^#' \
  | sed "s/^/$* | /"; }
run --cgroups 1000 --busy 100 --scrapes 10
run --cgroups 100 --busy 10
run --cgroups 100 --busy 100
run --cgroups 1000 --busy 1000
