#!/usr/bin/env bash
# Runs the JMH micro-benchmarks in exporter/src/test/java/dev/corral/exporter/bench with short settings.
#
#   bench/jmh.sh                       # ParserBench and MetricsBench (no cgroups needed)
#   bench/jmh.sh ScanBench -p root=/corral-bench-scan     # any JMH arguments; see -h
#
# Builds the test classes (the JMH annotation processor writes META-INF/BenchmarkList into
# exporter/target/test-classes; this script checks it did), writes the test classpath with
# dependency:build-classpath, and runs org.openjdk.jmh.Main with -f 1 -wi 3 -i 5 -w 1s -r 1s -prof gc
# (ns/op or ms/op, and gc.alloc.rate.norm = bytes allocated per operation) unless other settings are given.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

if [ -z "${JMH_NO_BUILD:-}" ]; then
  ./mvnw -q -B test-compile -pl exporter -am
fi
list=exporter/target/test-classes/META-INF/BenchmarkList
if [ ! -s "$list" ]; then
  echo "jmh.sh: $list is missing: the JMH annotation processor did not run" >&2
  exit 1
fi
cpfile=exporter/target/jmh-classpath.txt
if [ -z "${JMH_NO_BUILD:-}" ] || [ ! -s "$cpfile" ]; then
  ./mvnw -q -B dependency:build-classpath -pl exporter -Dmdep.outputFile="$repo/$cpfile" >/dev/null
fi
cp="exporter/target/test-classes:exporter/target/classes:$(cat "$cpfile")"
echo "jmh.sh: $(grep -c . "$list") benchmark methods in $list" >&2

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(ParserBench MetricsBench)
# Short defaults for the options not given (JMH refuses an option given twice); -prof gc is always added.
opts=()
for pair in "-f 1" "-wi 3" "-i 5" "-w 1s" "-r 1s"; do
  set -- $pair
  [[ " ${args[*]} " == *" $1 "* ]] || opts+=("$1" "$2")
done
[[ " ${args[*]} " == *" -prof gc "* ]] || opts+=(-prof gc)
exec java -cp "$cp" org.openjdk.jmh.Main "${opts[@]}" "${args[@]}"
