#!/usr/bin/env bash
# Images: the import time of a generated ~50 MB image, and the launch cost of an overlayfs root against a plain
# rootfs directory with the same content, side by side in one run:
#   1. import (POST /v1/images, the archive streamed over the unix socket): cold (every layer unpacked), then
#      warm (the layers are in the store: only their digests are checked);
#   2. `POST /v1/containers/NAME/start` through the daemon for a container on the image and one on the directory,
#      interleaved;
#   3. corral-shim alone on the two launch configs the daemon wrote (cgroup joins stripped), interleaved: the
#      overlay mount against the rootfs bind mount, without the daemon's own costs. Target: overlay adds <= 2 ms;
#   4. the mount(2) calls alone (overlay-mount.c), interleaved.
#   sudo bench/image-overlay.sh [RUNS]      (needs: a built agent jar, busybox-static, curl, jq, python3, gcc)
set -euo pipefail
runs=${1:-100}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
work=$(mktemp -d /tmp/corral-bench-image.XXXXXX)
parent=/corral-bench-image-$$
agent_pid=
cleanup() {
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  for d in /sys/fs/cgroup/*/"${parent#/}"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
for tool in curl jq python3 sha256sum gzip tar; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "needs /bin/busybox (apt-get install busybox-static)" >&2; exit 2; }

# ---- a ~50 MB image: layer 1 busybox + 48 MiB of incompressible files, layer 2 a few small changes ----------
l1=$work/l1; l2=$work/l2
mkdir -p "$l1"/{bin,etc,proc,sys,dev,tmp,data} "$l2/etc"
cp /bin/busybox "$l1/bin/busybox"; ln -s busybox "$l1/bin/true"; ln -s busybox "$l1/bin/sh"
echo one >"$l1/etc/hostname"
for i in $(seq 192); do head -c 262144 /dev/urandom >"$l1/data/f$i"; done
echo two >"$l2/etc/hostname"
oci=$work/oci; mkdir -p "$oci/blobs/sha256"
blob() { local h; h=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$oci/blobs/sha256/$h"; echo "$h"; }
diffs=(); layers=()
for l in "$l1" "$l2"; do
  tar -C "$l" --numeric-owner -cf "$work/layer.tar" .
  diffs+=("sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)")
  gzip -n -1 "$work/layer.tar"
  size=$(stat -c %s "$work/layer.tar.gz")
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$(blob "$work/layer.tar.gz")\",\"size\":$size}")
done
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' \
  "${diffs[0]}" "${diffs[1]}" >"$work/config.json"
csize=$(stat -c %s "$work/config.json"); chex=$(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s,%s]}' \
  "$chex" "$csize" "${layers[0]}" "${layers[1]}" >"$work/manifest.json"
msize=$(stat -c %s "$work/manifest.json"); mhex=$(blob "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
  "$mhex" "$msize" >"$oci/index.json"
tar -C "$oci" -cf "$work/image.tar" .
image_mb=$(awk -v b="$(stat -c %s "$work/image.tar")" 'BEGIN{printf "%.1f", b/1048576}')

# The same content as a plain directory: layer 1 with layer 2's change copied over it.
rootfs=$work/rootfs; cp -a "$l1" "$rootfs"; cp -a "$l2/." "$rootfs/"

# ---- the daemon ----------------------------------------------------------------------------------------
"$repo/bin/corral" serve --listen 127.0.0.1:0 --state-dir "$work/state" --cgroup-parent "$parent" \
  --socket "$work/corral.sock" --interval 1s >"$work/agent.log" 2>&1 &
agent_pid=$!
bench_wait_agent "$work/agent.log" "$agent_pid" "$work/corral.sock" 100 >/dev/null || exit 1
api() { curl -sf --unix-socket "$work/corral.sock" "$@"; }
secs() { curl -s -o /dev/null -w '%{http_code} %{time_total}' --unix-socket "$work/corral.sock" "$@"; }
med() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }

# ---- 1. import --------------------------------------------------------------------------------------
cold=(); warm=()
for i in 1 2 3 4 5; do
  read -r code t <<<"$(secs -XPOST --data-binary "@$work/image.tar" "http://x/v1/images?name=bench:cold")"
  [ "$code" = 201 ] || { echo "import failed: HTTP $code" >&2; cat "$work/agent.log" >&2; exit 1; }
  cold+=("$(awk -v t="$t" 'BEGIN{print t*1000}')")
  read -r code t <<<"$(secs -XPOST --data-binary "@$work/image.tar" "http://x/v1/images?name=bench:warm")"
  warm+=("$(awk -v t="$t" 'BEGIN{print t*1000}')")
  [ "$i" = 5 ] || { api -XDELETE "http://x/v1/images/bench%3Acold" && api -XDELETE "http://x/v1/images/bench%3Awarm"; }
done
cold_ms=$(printf '%s\n' "${cold[@]}" | med); warm_ms=$(printf '%s\n' "${warm[@]}" | med)
# A warm store: the imported layers written back, so the launches below do not wait on that writeback.
sync
sleep 2

# ---- 2. start through the daemon ----------------------------------------------------------------------
limits='"limits":{"memory":{"max":"64m"},"cpu":{"cpus":0.5}}'
api -XPOST "http://x/v1/containers" -d "{\"name\":\"img\",\"image\":\"bench:cold\",\"command\":[\"/bin/true\"],$limits}" >/dev/null
api -XPOST "http://x/v1/containers" -d "{\"name\":\"dir\",\"rootfs\":\"$rootfs\",\"command\":[\"/bin/true\"],$limits}" >/dev/null
declare -A api_ms
for i in $(seq "$runs"); do
  for c in img dir; do
    read -r code t <<<"$(secs -XPOST "http://x/v1/containers/$c/start")"
    [ "$code" = 200 ] || { echo "start $c failed: HTTP $code" >&2; exit 1; }
    api_ms[$c]+="$(awk -v t="$t" 'BEGIN{print t*1000}') "
    api -XPOST "http://x/v1/containers/$c/wait" >/dev/null
  done
done

# ---- 3. corral-shim alone on the daemon's own launch configs ------------------------------------------
shim=$(ls "$work"/state/bin/corral-shim-* | head -1)
for c in img dir; do
  python3 - "$work/state/containers/$c/launch.conf" "$work/$c.conf" "$work/out-$c" <<'PY'
import sys, os
src, dst, out = sys.argv[1:]
f = open(src, 'rb').read().split(b'\0')[:-1]
pairs = [(f[i], f[i + 1]) for i in range(0, len(f), 2)]
os.makedirs(out, exist_ok=True)
keep = []
for k, v in pairs:
    if k == b'cgroup_procs':
        continue                      # no cgroup joins: the mounts are what is measured
    if k == b'log_dir':
        v = out.encode()
    if k == b'exit_file':
        v = (out + '/exit.json').encode()
    keep.append(k + b'\0' + v + b'\0')
open(dst, 'wb').write(b''.join(keep))
PY
done
declare -A shim_ms
ns() { date +%s%N; }
for i in $(seq "$runs"); do
  for c in img dir; do
    rm -f "$work/out-$c/exit.json"
    t0=$(ns); "$shim" run "$work/$c.conf" >/dev/null; t1=$(ns)
    shim_ms[$c]+="$(( (t1 - t0) / 1000 )) "
    # Let the container exit and its mount namespace go before the next launch (the kernel unmounts it from a
    # worker, and an overlay with an upper dir syncs the upper filesystem then), so that one launch's teardown
    # does not land in another's time. Both kinds get the same wait and sync.
    for _ in $(seq 500); do [ -e "$work/out-$c/exit.json" ] && break; sleep 0.002; done
    sleep 0.05
    sync
  done
done

# ---- 4. the mount(2) calls alone ------------------------------------------------------------------
gcc -O2 -o "$work/overlay-mount" "$repo/bench/overlay-mount.c"
opts=$(tr '\0' '\n' <"$work/img.conf" | awk 'p=="overlay_lower"{l=l (l?":":"") $0} p=="overlay_upper"{u=$0} p=="overlay_work"{w=$0} {p=$0} END{printf "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w}')
mkdir -p "$work/mnt"
read -r k_ovl k_bind <<<"$("$work/overlay-mount" "$runs" "$work/mnt" "$opts" "$rootfs")"

us_med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'; }
ms_med() { tr ' ' '\n' <<<"$1" | grep . | med; }
echo "image: ${image_mb} MiB tar, 2 gzip layers (48 MiB of files + busybox); runs=$runs"
printf '%-44s %10s\n' "import, cold (unpack both layers), median of 5" "${cold_ms} ms"
printf '%-44s %10s\n' "import, warm (layers stored: digests only)" "${warm_ms} ms"
a_img=$(ms_med "${api_ms[img]}"); a_dir=$(ms_med "${api_ms[dir]}")
s_img=$(us_med "${shim_ms[img]}"); s_dir=$(us_med "${shim_ms[dir]}")
printf '%-30s %12s %12s %12s\n' "launch, median" image_ms rootfs_dir_ms overlay_adds
printf '%-30s %12s %12s %12s\n' "POST start (daemon)" "$a_img" "$a_dir" "$(awk -v a="$a_img" -v b="$a_dir" 'BEGIN{printf "%+.2f ms", a-b}')"
printf '%-30s %12s %12s %12s\n' "corral-shim run alone" "$s_img" "$s_dir" "$(awk -v a="$s_img" -v b="$s_dir" 'BEGIN{printf "%+.2f ms", a-b}')"
printf '%-30s %12s %12s %12s\n' "mount(2) alone" "$k_ovl" "$k_bind" "$(awk -v a="$k_ovl" -v b="$k_bind" 'BEGIN{printf "%+.2f ms", a-b}')"
awk -v a="$s_img" -v b="$s_dir" 'BEGIN{d=a-b; printf "target: overlay adds <= 2 ms to a launch (corral-shim alone): %s (%+.2f ms)\n", d<=2 ? "PASS" : "FAIL", d}'
