#!/usr/bin/env bash
# Makes the client's class-data-sharing archive beside the jar (run by the build after the jar is made):
# a training run lists the classes the quick client commands load, then the JVM dumps them, parsed and verified,
# into one file that bin/corral maps at each client start (docs/benchmarks.md, "CLI"). The archive only serves the
# same JVM and the same jar; bin/corral passes it with -Xshare:auto, so a stale or foreign one is ignored. A JVM
# that cannot dump leaves no archive and the build goes on: it is a speed-up, not a part.
set -u
jar="$(readlink -f "$1")"
out="$2"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -f "$out"
# the flags bin/corral gives a client command
flags=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1)
# the canned daemon on a socket named by CORRAL_HOST, as a user's environment names it (CdsTraining)
if CORRAL_HOST="unix://$tmp/d.sock" "$java" "${flags[@]}" -XX:DumpLoadedClassList="$tmp/classes" -cp "$jar" dev.corral.agent.cli.CdsTraining \
      >"$tmp/log" 2>&1 \
   && "$java" "${flags[@]}" -Xshare:dump -XX:SharedClassListFile="$tmp/classes" -XX:SharedArchiveFile="$out" \
      -cp "$jar" >>"$tmp/log" 2>&1; then
  echo "client CDS archive: $out ($(grep -vc '^#' "$tmp/classes") classes)"
else
  rm -f "$out"
  echo "warning: no client CDS archive (client commands start slower); the JVM said:" >&2
  tail -5 "$tmp/log" >&2
fi
exit 0
