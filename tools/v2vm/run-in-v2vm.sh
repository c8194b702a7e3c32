#!/usr/bin/env bash
# run-in-v2vm.sh - run a command on a real cgroup-v2 Linux kernel under qemu (software emulation).
#
# The host's root filesystem is shared read-only (9p) and the command runs chrooted into it, in the
# caller's working directory, so the host's JDK and the project's build output work unchanged.
# Inside the guest: pure cgroup2 at /sys/fs/cgroup with cpu memory io pids cpuset delegated to
# children, tmpfs /tmp /run /var/tmp, and a scratch virtio disk (CORRAL_V2_SCRATCH_DEV/_DEVNO).
# See tools/v2vm/README.md. Run with --help for the usage.
set -u -o pipefail

PROG=run-in-v2vm
SCRIPT_PATH=$(readlink -f -- "${BASH_SOURCE[0]}")

usage() {
  cat <<'EOF'
Usage: run-in-v2vm.sh [OPTIONS] -- COMMAND [ARGS...]

Runs COMMAND (exec'd with ARGS exactly as given, no shell re-parsing) on a real cgroup v2 kernel
under qemu, chrooted into the host root (read-only), in the caller's current directory.
COMMAND's stdout+stderr are streamed to this script's stdout; its stdin is /dev/null.

Options:
  --timeout SECONDS  kill the VM after this long (default 600; counts boot + command)
  --mem MB           guest memory (default 2048)
  --cpus N           guest CPUs (default 2)
  --disk MB          size of the scratch disk (default 256)
  --disk-mbps N      cap the scratch disk at N MiB/s (reads and writes together), as a real disk is, so
                     IO tests contend for the device rather than for the emulated CPU (default: no cap)
  --env NAME         pass the caller's NAME into the guest (repeatable; unset vars are skipped)
  --env NAME=VALUE   set NAME=VALUE in the guest (repeatable)
  --verbose          also show the guest's boot console and progress on stderr
  -h, --help         this text

Exit status: COMMAND's exit status; 124 if --timeout expired; 125 if the VM failed (did not boot,
no exit marker); 2 for usage errors or a missing tool; 130/143 if interrupted (SIGINT/SIGTERM).
Environment: CORRAL_V2VM_CACHE (default /var/cache/corral-v2vm), CORRAL_V2VM_VERBOSE=1.
EOF
}

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
vlog() { (( VERBOSE )) && log "$@"; return 0; }
die()  { local code=$1; shift; log "$*"; exit "$code"; }

# ---------------------------------------------------------------- arguments
TIMEOUT=600 MEM=2048 CPUS=2 DISK_MB=256 DISK_MBPS=0 VERBOSE=${CORRAL_V2VM_VERBOSE:-0}
[[ $VERBOSE =~ ^[0-9]+$ ]] || VERBOSE=1
ENV_NAMES=() ENV_VALUES=()
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && (( 10#$1 > 0 )); }
while (( $# )); do
  case $1 in
    --timeout|--mem|--cpus|--disk|--disk-mbps|--env)
      (( $# >= 2 )) || die 2 "$1 needs a value (see --help)"
      opt=$1 val=$2; shift 2 ;;
    --timeout=*|--mem=*|--cpus=*|--disk=*|--disk-mbps=*|--env=*)
      opt=${1%%=*} val=${1#*=}; shift ;;
    --verbose) VERBOSE=1; shift; continue ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) die 2 "unknown option '$1' (the command must follow '--'; see --help)" ;;
  esac
  case $opt in
    --timeout) is_uint "$val" || die 2 "--timeout needs a positive integer"; TIMEOUT=$((10#$val)) ;;
    --mem)     is_uint "$val" || die 2 "--mem needs a positive integer (MB)"; MEM=$((10#$val)) ;;
    --cpus)    is_uint "$val" || die 2 "--cpus needs a positive integer"; CPUS=$((10#$val)) ;;
    --disk)    is_uint "$val" || die 2 "--disk needs a positive integer (MB)"; DISK_MB=$((10#$val)) ;;
    --disk-mbps) is_uint "$val" || die 2 "--disk-mbps needs a positive integer (MiB/s)"; DISK_MBPS=$((10#$val)) ;;
    --env)
      name=${val%%=*}
      [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die 2 "--env: bad variable name '$name'"
      if [[ $val == *=* ]]; then ENV_NAMES+=("$name"); ENV_VALUES+=("${val#*=}")
      elif [[ -n ${!name+set} ]]; then ENV_NAMES+=("$name"); ENV_VALUES+=("${!name}")
      fi ;;
  esac
done
(( $# )) || die 2 "no command given (usage: run-in-v2vm.sh [OPTIONS] -- COMMAND [ARGS...])"

# ---------------------------------------------------------------- tools
need() { # need COMMAND APT-PACKAGE
  command -v "$1" >/dev/null 2>&1 || die 2 "'$1' not found: install the apt package '$2'"
}
need qemu-system-x86_64 qemu-system-x86
need timeout coreutils
need mkfifo coreutils
need truncate coreutils
need sha256sum coreutils
need flock util-linux
need cpio cpio

# ---------------------------------------------------------------- cache: kernel + initramfs
CACHE=${CORRAL_V2VM_CACHE:-/var/cache/corral-v2vm}
if ! mkdir -p "$CACHE" 2>/dev/null || [[ ! -w $CACHE ]]; then
  [[ -n ${CORRAL_V2VM_CACHE:-} ]] && die 2 "cache dir $CACHE is not writable"
  CACHE=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/corral-v2vm
  mkdir -p "$CACHE" || die 2 "cannot create cache dir $CACHE"
fi

# Modules loaded in the guest, in this order (dependencies from each .ko's modinfo are pulled in
# first automatically). Required ones must exist as a module or be built in.
GUEST_MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
               9pnet 9pnet_virtio netfs fscache 9p virtio_blk overlay
               # container networking (bridge, veth, the agent's nftables table) and its rate limits (tc);
               # optional: a kernel without one only fails the tests that need it
               crc32c_generic libcrc32c bridge veth nf_tables nft_chain_nat nft_ct nft_masq nft_nat nft_redir nft_reject_inet nft_fib_inet
               nf_nat nf_conntrack sch_htb sch_tbf sch_ingress ifb cls_u32 cls_matchall act_police act_mirred)
REQUIRED_MODULES=" virtio_pci 9pnet_virtio 9p virtio_blk overlay "

BUILD_TMPS=()  # removed by the cleanup trap (also if a build is interrupted)
PKGROOT=""     # the kernel package unpacked by fetch_kernel, reused by build_initramfs

fetch_kernel() { # sets KVER; unpacks the kernel into $CACHE/kernels/<kver>
  need apt-get apt
  need apt-cache apt
  need dpkg dpkg
  local tmp dep kver
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX") || die 125 "cannot create a temp dir in $CACHE"
  BUILD_TMPS+=("$tmp")
  find_dep() {
    apt-cache depends linux-image-amd64 2>/dev/null |
      awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
  }
  download() {
    [[ -n $dep ]] || return 1
    (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root download linux-image-amd64 "$dep") >&2
  }
  log "fetching the kernel (apt-get download linux-image-amd64) into $CACHE ..."
  dep=$(find_dep)
  if ! download; then
    log "download failed; running apt-get update and retrying"
    apt-get -q update >&2 || die 125 "apt-get update failed"
    dep=$(find_dep)
    [[ -n $dep ]] || die 125 "apt-cache finds no linux-image-<ver>-amd64 dependency of linux-image-amd64"
    download || die 125 "apt-get download $dep failed"
  fi
  kver=${dep#linux-image-}
  dpkg -x "$tmp/${dep}"_*.deb "$tmp/root" || die 125 "dpkg -x of $dep failed"
  [[ -f $tmp/root/boot/vmlinuz-$kver ]] || die 125 "package $dep has no boot/vmlinuz-$kver"
  find_moddir "$tmp/root" "$kver" >/dev/null || die 125 "package $dep has no lib/modules/$kver"
  mkdir "$tmp/k"
  mv "$tmp/root/boot/vmlinuz-$kver" "$tmp/k/vmlinuz"
  [[ -f $tmp/root/boot/config-$kver ]] && mv "$tmp/root/boot/config-$kver" "$tmp/k/config"
  # keep the .deb (70 MB) rather than the unpacked modules (400 MB): unpacked again per initramfs build
  mv "$tmp/${dep}"_*.deb "$tmp/k/linux-image.deb"
  extract_vmlinux "$tmp/k"
  mkdir -p "$CACHE/kernels"
  rm -rf "$CACHE/kernels/$kver"
  mv "$tmp/k" "$CACHE/kernels/$kver"
  printf '%s\n' "$kver" > "$tmp/current" && mv -f "$tmp/current" "$CACHE/current"
  PKGROOT=$tmp/root
  log "kernel $kver cached"
  KVER=$kver
}

find_moddir() { # find_moddir ROOT KVER -> prints the modules dir (lib/modules or usr/lib/modules)
  local d
  for d in "$1/lib/modules/$2" "$1/usr/lib/modules/$2"; do [[ -d $d/kernel ]] && { printf '%s\n' "$d"; return 0; }; done
  return 1
}

# qemu boots an uncompressed ELF vmlinux directly (PVH entry) ~3.5 s faster than a bzImage, which
# it must decompress under emulation. Extract it when the kernel supports PVH; else use vmlinuz.
extract_vmlinux() { # extract_vmlinux KDIR
  local k=$1 magic tool off
  grep -qx 'CONFIG_PVH=y' "$k/config" 2>/dev/null || { log "kernel lacks CONFIG_PVH: booting vmlinuz (slower)"; return 0; }
  for magic in $'\xfd7zXZ\x00':xz $'\x28\xb5\x2f\xfd':zstd $'\x1f\x8b\x08':gzip; do
    tool=${magic##*:}; magic=${magic%:*}
    command -v "$tool" >/dev/null 2>&1 || continue
    while IFS=: read -r off _; do
      case $tool in
        xz)   tail -c +$((off + 1)) "$k/vmlinuz" | xz -dc --single-stream ;;
        zstd) tail -c +$((off + 1)) "$k/vmlinuz" | zstd -qdc ;;
        gzip) tail -c +$((off + 1)) "$k/vmlinuz" | gzip -dc ;;
      esac > "$k/vmlinux.tmp" 2>/dev/null
      if [[ $(head -c 4 "$k/vmlinux.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
        mv "$k/vmlinux.tmp" "$k/vmlinux"; return 0
      fi
    done < <(LC_ALL=C grep -abo "$magic" "$k/vmlinuz" | head -n 3)
  done
  rm -f "$k/vmlinux.tmp"
  log "could not extract vmlinux from vmlinuz: booting vmlinuz (slower)"
}

# The guest's /init (busybox ash, PID 1). Kept in this script so its hash keys the initramfs cache.
read -r -d '' GUEST_INIT <<'INIT_EOF'
#!/bin/sh
# corral v2vm guest init: mount the host root, set up cgroup2, run the job, power off.
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
stty -onlcr 2>/dev/null
DEBUG=; case " $(cat /proc/cmdline) " in *" corral.debug=1 "*) DEBUG=1 ;; esac
t() { [ -n "$DEBUG" ] && { read -r up _ < /proc/uptime; echo "v2vm-init: $up s: $*"; }; }
t start
fail() { echo "CORRAL_V2VM_INIT_ERROR: $*"; stty -onlcr 2>/dev/null; poweroff -f; sleep 10; }
while read -r m; do
  insmod "/lib/corral/$m.ko" || fail "insmod $m failed"
  t "insmod $m"
done < /lib/corral/modules.order
mount -t 9p -o trans=virtio,version=9p2000.L,ro corraljob /job || fail "cannot mount the job share (9p)"
. /job/guest.env || fail "cannot read /job/guest.env"
R=/newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot $R ||
  fail "cannot mount the host root (9p)"
mount -t proc proc $R/proc || fail "mount proc"
mount -t sysfs sysfs $R/sys || fail "mount sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "mount devtmpfs"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $R/dev/pts || fail "mount devpts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/dev/shm || fail "mount /dev/shm"
# A fresh tmpfs on each, except the one holding the caller's directory (KEEP): that one stays the host's,
# read-only, so a checkout under /tmp is still there; the job then writes its temp files to another.
[ "$KEEP" = /tmp ] || { mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/tmp || fail "mount /tmp"; }
[ "$KEEP" = /run ] || { mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run || fail "mount /run"; }
[ "$KEEP" = /var/tmp ] || [ ! -d $R/var/tmp ] ||
  { mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/var/tmp || fail "mount /var/tmp"; }
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $R/sys/fs/cgroup 2>/dev/null ||
  mount -t cgroup2 cgroup2 $R/sys/fs/cgroup || fail "mount cgroup2"
for c in cpu memory io pids cpuset; do
  echo "+$c" > $R/sys/fs/cgroup/cgroup.subtree_control || fail "cannot enable the $c controller"
done
DEV= DEVNO=
for b in /sys/block/vd*; do
  [ "$(cat $b/serial 2>/dev/null)" = corral-scratch ] && { DEV=/dev/${b##*/}; DEVNO=$(cat $b/dev); break; }
done
[ -n "$DEV" ] || fail "scratch disk not found"
ip link set lo up 2>/dev/null
hostname corral-v2vm
ulimit -n 65536 2>/dev/null
mkdir -p $R/run/corral-v2vm
cp /job/job.sh $R/run/corral-v2vm/job.sh || fail "cannot copy the job"
t "mounts done"
echo "CORRAL_V2VM_START_$NONCE"
env -i CORRAL_V2_SCRATCH_DEV=$DEV CORRAL_V2_SCRATCH_DEVNO=$DEVNO \
  /bin/chroot $R /bin/sh /run/corral-v2vm/job.sh </dev/null
rc=$?
echo "CORRAL_V2VM_EXIT_$NONCE=$rc"
stty -onlcr 2>/dev/null   # tcsetattr(TCSADRAIN): wait until the console has sent everything
sleep 0.1
poweroff -f
sleep 10
INIT_EOF

build_initramfs() { # build_initramfs KVER OUT
  local kver=$1 out=$2 kdir=$CACHE/kernels/$1 stage f b n moddir
  need dpkg dpkg
  local bb=$BUSYBOX
  [[ -n $bb ]] || die 2 "busybox not found: install the apt package 'busybox-static'"
  ldd "$bb" >/dev/null 2>&1 && die 2 "$bb is dynamically linked: install the apt package 'busybox-static'"
  stage=$(mktemp -d "$CACHE/.initramfs.XXXXXX") || die 125 "cannot create a temp dir in $CACHE"
  BUILD_TMPS+=("$stage")
  if [[ -z $PKGROOT ]]; then
    PKGROOT=$stage/pkg
    dpkg -x "$kdir/linux-image.deb" "$PKGROOT" || die 125 "dpkg -x $kdir/linux-image.deb failed"
  fi
  moddir=$(find_moddir "$PKGROOT" "$kver") || die 125 "no lib/modules/$kver in $kdir/linux-image.deb"
  local root=$stage/root
  mkdir -p "$root"/{bin,dev,proc,sys,job,newroot,lib/corral}
  cp "$bb" "$root/bin/busybox"
  for b in $("$bb" --list); do [[ $b == busybox ]] || ln -s busybox "$root/bin/$b"; done
  printf '%s\n' "$GUEST_INIT" > "$root/init"
  chmod 755 "$root/init"

  # module index: normalized name -> path; and the built-in set
  local -A modpath=() builtin=() done_=()
  local order=()
  while IFS= read -r -d '' f; do
    b=${f##*/}; b=${b%%.ko*}; modpath[${b//-/_}]=$f
  done < <(find "$moddir/kernel" -name '*.ko*' -print0)
  if [[ -f $moddir/modules.builtin ]]; then
    while IFS= read -r f; do b=${f##*/}; b=${b%%.ko*}; builtin[${b//-/_}]=1; done < "$moddir/modules.builtin"
  fi
  add_mod() { # add_mod NAME REQUIRED
    local n=${1//-/_} req=$2 src dst deps d
    [[ -n ${done_[$n]:-} ]] && return 0
    done_[$n]=1
    src=${modpath[$n]:-}
    if [[ -z $src ]]; then
      if [[ -n ${builtin[$n]:-} ]]; then vlog "module $n is built in"; return 0; fi
      (( req )) && die 125 "kernel $kver has no module $n (and it is not built in)"
      vlog "module $n absent and not built in: skipped"
      return 0
    fi
    dst=$root/lib/corral/$n.ko
    case $src in
      *.ko)     cp "$src" "$dst" ;;
      *.ko.xz)  need xz xz-utils; xz -dc "$src" > "$dst" ;;
      *.ko.zst) need zstd zstd; zstd -qdc "$src" > "$dst" ;;
      *.ko.gz)  gzip -dc "$src" > "$dst" ;;
      *) die 125 "unknown module format: $src" ;;
    esac || die 125 "cannot decompress $src"
    deps=$(tr '\0' '\n' < "$dst" | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_mod "$d" 1; done
    order+=("$n")
  }
  for n in "${GUEST_MODULES[@]}"; do
    add_mod "$n" "$([[ $REQUIRED_MODULES == *" $n "* ]] && echo 1 || echo 0)"
  done
  printf '%s\n' "${order[@]}" > "$root/lib/corral/modules.order"
  vlog "initramfs modules: ${order[*]}"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$stage/initramfs.cpio" ||
    die 125 "cpio failed"
  mv -f "$stage/initramfs.cpio" "$out"
  # drop initramfs images of older script versions
  for f in "$CACHE"/initramfs/*.cpio; do [[ $f == "$out" ]] || rm -f "$f"; done
  log "initramfs built: $out"
}

BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || BUSYBOX=$(command -v busybox 2>/dev/null) || BUSYBOX=""
SCRIPT_HASH=$( { cat "$SCRIPT_PATH"; [[ -n $BUSYBOX ]] && sha256sum < "$BUSYBOX"; } |
               sha256sum | cut -c1-16)
KVER="" VMLINUZ="" INITRD=""
lookup_cache() {
  KVER=$(cat "$CACHE/current" 2>/dev/null) || KVER=""
  [[ -n $KVER && -f $CACHE/kernels/$KVER/vmlinuz && -f $CACHE/kernels/$KVER/linux-image.deb ]] ||
    { KVER=""; return 1; }
  VMLINUZ=$CACHE/kernels/$KVER/vmlinuz
  [[ -f $CACHE/kernels/$KVER/vmlinux ]] && VMLINUZ=$CACHE/kernels/$KVER/vmlinux
  INITRD=$CACHE/initramfs/$KVER-$SCRIPT_HASH.cpio
  [[ -f $INITRD ]]
}

# ---------------------------------------------------------------- cleanup
JOB="" QPID="" FPID="" WPID=""
cleanup() {
  trap '' INT TERM HUP
  [[ -n $QPID ]] && { kill -TERM "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; }
  [[ -n $FPID ]] && { kill -TERM "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; }
  [[ -n $WPID ]] && { kill -TERM "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; }
  [[ -n $JOB ]] && rm -rf "$JOB"
  (( ${#BUILD_TMPS[@]} )) && rm -rf "${BUILD_TMPS[@]}"
  QPID="" FPID="" WPID="" JOB="" BUILD_TMPS=()
}
on_signal() { log "interrupted (signal $1): stopping the VM"; cleanup; exit $((128 + $1)); }
trap cleanup EXIT
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
trap 'on_signal 1' HUP

if ! lookup_cache; then
  exec 8>"$CACHE/.lock"
  if ! flock -n 8; then
    log "waiting for another run that is filling the cache $CACHE ..."
    flock -w 1800 8 || die 125 "timed out waiting for the cache lock $CACHE/.lock"
  fi
  if ! lookup_cache; then
    rm -rf "$CACHE"/.fetch.* "$CACHE"/.initramfs.*   # leftovers of killed builds (we hold the lock)
    [[ -n $KVER ]] || fetch_kernel
    [[ -n $KVER ]] || die 125 "no kernel"
    lookup_cache || { mkdir -p "$CACHE/initramfs"; build_initramfs "$KVER" "$INITRD"; }
    lookup_cache || die 125 "cache is inconsistent after the build: $CACHE"
    rm -rf "${BUILD_TMPS[@]}"; BUILD_TMPS=() PKGROOT=""
  fi
  exec 8>&-
fi
vlog "kernel $KVER, initramfs $INITRD"

# ---------------------------------------------------------------- the job
sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }   # POSIX sh single-quoting
JOB=$(mktemp -d "${TMPDIR:-/tmp}/corral-v2vm.XXXXXX") || die 125 "cannot create a temp dir"
mkdir "$JOB/share"
NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
KEEP=
case $PWD in
  /tmp|/tmp/*) KEEP=/tmp ;;
  /var/tmp|/var/tmp/*) KEEP=/var/tmp ;;
  /run|/run/*) KEEP=/run ;;
esac
GUEST_TMP=/tmp
[ "$KEEP" = /tmp ] && GUEST_TMP=/var/tmp
printf 'NONCE=%s\nKEEP=%s\n' "$NONCE" "$KEEP" > "$JOB/share/guest.env"
{
  echo '# generated by run-in-v2vm.sh'
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  echo "export HOME=$GUEST_TMP CORRAL_V2_GUEST=1 LANG=C.UTF-8 TMPDIR=$GUEST_TMP"
  # Java ignores TMPDIR: point java.io.tmpdir at the writable one.
  echo "export JAVA_TOOL_OPTIONS=\"-Djava.io.tmpdir=$GUEST_TMP\${JAVA_TOOL_OPTIONS:+ \$JAVA_TOOL_OPTIONS}\""
  [[ -n ${JAVA_HOME:-} ]] && echo "export JAVA_HOME=$(sq "$JAVA_HOME")"
  for i in "${!ENV_NAMES[@]}"; do echo "export ${ENV_NAMES[$i]}=$(sq "${ENV_VALUES[$i]}")"; done
  echo 'umask 022'
  printf 'cd %s 2>/dev/null || {\n' "$(sq "$PWD")"
  printf '  printf "run-in-v2vm: cannot cd to %%s in the guest (only the read-only host root is visible;'
  printf ' /tmp /run /var/tmp are fresh tmpfs there, but the one holding it)\\n" %s >&2\n  exit 125\n}\n' "$(sq "$PWD")"
  printf 'exec'; for a in "$@"; do printf ' %s' "$(sq "$a")"; done; echo
} > "$JOB/share/job.sh"
truncate -s "${DISK_MB}M" "$JOB/scratch.img" || die 125 "cannot create the scratch disk"
mkfifo "$JOB/console.fifo" "$JOB/watchdog.fifo" || die 125 "mkfifo failed"

# acpi=noirq: PCI IRQ routing from the BIOS table instead of ACPI AML (saves ~0.8 s of virtio_pci
# probing under emulation); cryptomgr.notests skips the boot-time crypto self-tests.
APPEND="console=ttyS0 panic=-1 quiet loglevel=0 cgroup_no_v1=all mitigations=off random.trust_cpu=on"
APPEND+=" acpi=noirq cryptomgr.notests i8042.noaux i8042.nokbd i8042.nopnp 8250.nr_uarts=1"
(( VERBOSE )) && APPEND+=" corral.debug=1"
APPEND+=${CORRAL_V2VM_APPEND:+ $CORRAL_V2VM_APPEND}
THROTTLE=
(( DISK_MBPS )) && THROTTLE=",throttling.bps-total=$((DISK_MBPS * 1048576))"
# shellcheck disable=SC2054  # commas are qemu's option syntax
QEMU=(qemu-system-x86_64 -nodefaults -no-user-config -accel tcg,thread=multi -cpu max
  -m "$MEM" -smp "$CPUS" -display none -monitor none -serial stdio -no-reboot
  -kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=${JOB//,/,,}/share,mount_tag=corraljob,security_model=none,readonly=on"
  -drive "file=${JOB//,/,,}/scratch.img,format=raw,if=none,id=scratch,cache=unsafe${THROTTLE}"
  -device virtio-blk-pci,drive=scratch,serial=corral-scratch)
# debugging knobs (word-split on purpose): extra qemu arguments and kernel parameters
# shellcheck disable=SC2206
[[ -n ${CORRAL_V2VM_QEMU_EXTRA:-} ]] && QEMU+=($CORRAL_V2VM_QEMU_EXTRA)
vlog "qemu: ${QEMU[*]}"

START_TS=$EPOCHREALTIME
elapsed() { local n=$EPOCHREALTIME; awk -v s="$START_TS" -v n="$n" 'BEGIN { printf "%.1f", n - s }'; }
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$JOB/console.fifo" 2>"$JOB/qemu.err" &
QPID=$!

# Console filter: logs everything, streams only the command's output (between the markers),
# records the exit code. After the exit marker it gives qemu 15 s to power off.
filter() {
  trap - INT TERM HUP EXIT
  trap '' PIPE   # if our stdout goes away, keep reading so the exit status still gets through
  local out=1   # cleared when stdout is gone
  emit() { (( out )) && { printf "$@" 2>/dev/null || out=0; }; return 0; }
  local line eof=0 started=0 startm="CORRAL_V2VM_START_$NONCE" exitm="CORRAL_V2VM_EXIT_$NONCE=" pre rest
  exec 3>"$JOB/console.log"
  while (( !eof )); do
    IFS= read -r line || { eof=1; [[ -n $line ]] || break; }
    printf '%s\n' "$line" >&3
    if (( !started )); then
      line=${line%$'\r'}
      (( VERBOSE )) && printf '[guest] %s\n' "$line" >&2
      if [[ $line == *"$startm"* ]]; then
        started=1; : > "$JOB/started"
        vlog "command started $(elapsed) s after qemu start"
      elif [[ $line == *CORRAL_V2VM_INIT_ERROR:* ]]; then
        printf '%s\n' "${line#*CORRAL_V2VM_INIT_ERROR: }" > "$JOB/init-error"
      fi
    elif [[ $line == *"$exitm"* ]]; then
      pre=${line%%"$exitm"*}; rest=${line#*"$exitm"}
      [[ -n $pre ]] && emit '%s' "$pre"
      rest=${rest%%[!0-9]*}
      printf '%s\n' "${rest:-255}" > "$JOB/rc"
      vlog "command exited (status ${rest:-?}) $(elapsed) s after qemu start"
      local r=0
      while :; do IFS= read -r -t 15 line; r=$?; (( r == 0 )) || break; printf '%s\n' "$line" >&3; done
      (( r > 128 )) && kill -TERM "$QPID" 2>/dev/null
      break
    else
      if (( eof )); then emit '%s' "$line"; else emit '%s\n' "$line"; fi
    fi
  done
  cat >/dev/null   # drain so qemu never blocks on a full pipe
}
filter <"$JOB/console.fifo" &
FPID=$!

# Watchdog: if this script dies without running its traps (SIGKILL), stop qemu and remove the job.
(
  trap - INT TERM HUP EXIT
  exec 7<>"$JOB/watchdog.fifo" </dev/null >/dev/null 2>&1
  while kill -0 $$ 2>/dev/null; do read -r -t 1 -u 7 _; done
  kill -TERM "$QPID" 2>/dev/null
  while kill -0 "$QPID" 2>/dev/null; do read -r -t 0.2 -u 7 _; done
  rm -rf "$JOB"
) &
WPID=$!

wait "$QPID"; QRC=$?; QPID=""
wait "$FPID"; FPID=""
vlog "qemu exited (status $QRC) $(elapsed) s after its start"

if [[ -f $JOB/rc ]]; then
  RC=$(<"$JOB/rc")
  exit "$RC"
fi
dump_diag() {
  log "--- last lines of the guest console ---"
  tail -n 30 "$JOB/console.log" | tr -d '\r' >&2
  if [[ -s $JOB/qemu.err ]]; then log "--- qemu stderr ---"; tail -n 20 "$JOB/qemu.err" >&2; fi
}
if (( QRC == 124 || QRC == 137 )); then
  [[ -f $JOB/started ]] || dump_diag
  die 124 "timed out after ${TIMEOUT}s (VM killed; raise --timeout)"
fi
if [[ -f $JOB/init-error ]]; then
  dump_diag
  die 125 "guest init failed: $(<"$JOB/init-error")"
fi
dump_diag
die 125 "the VM exited without reporting the command's exit status (qemu exit status $QRC)"
