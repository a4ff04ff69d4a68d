#!/usr/bin/env bash
# vm.sh - run a shell command inside a throw-away QEMU guest whose stock
# Debian kernel has IPVS, for tests/ipvs_vm.rs. Modelled on the recipe in
# shared/tools/ipvs-vm; only Debian packages, fetched with `apt-get download`
# and unpacked with `dpkg-deb -x` into a cache (nothing is installed, root
# is not needed). The guest has no network device: rules are only
# programmed into its kernel.
#
#   vm.sh [-f FILE[:GUESTPATH]]... [-o OUTDIR] [-t SECONDS] [-k auto|on|off] [-v] 'COMMAND'
#
#   -f  copy FILE (or a directory) into the guest, default /opt/bin/NAME
#       (/opt/bin is on PATH); dynamic ELF files bring their libraries (ldd)
#   -o  what the guest writes under /out comes back here
#   -t  wall-clock limit (default 300)
#   -k  KVM: auto (only with vmx/svm in /proc/cpuinfo), on, off (TCG)
#   -v  show the guest's boot console
#
# Environment: IPVS_VM_CACHE (default ~/.cache/ipvs-vm, the recipe's layout),
# IPVS_VM_QEMU (a qemu-system-x86_64 to use instead of Debian's, unpacked),
# IPVS_VM_MEM (guest memory in MiB, default 512), IPVS_VM_SMP (vCPUs, 1),
# IPVS_VM_MODULES (more kernel modules to load, e.g. "veth").
# Exit: the command's status; 124 timeout; 125 no result from the guest;
# 77 the VM cannot be built here (no apt/dpkg, packages unavailable) - the
# test skips on 77 unless CI is set.
set -euo pipefail

CACHE=${IPVS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipvs-vm}
KPKG=linux-image-cloud-amd64
KVM=auto TIMEOUT=300 VERBOSE=0 OUTDIR=
FILES=()

log() { echo "ipvs-vm: $*" >&2; }
die() { log "$*"; exit 125; }
skip() { log "SKIP: $*"; exit 77; }

while getopts ':f:o:t:k:v' opt; do
  case $opt in
    f) FILES+=("$OPTARG") ;;
    o) OUTDIR=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    k) KVM=$OPTARG ;;
    v) VERBOSE=1 ;;
    *) die "usage: vm.sh [-f FILE[:GUESTPATH]]... [-o DIR] [-t S] [-k auto|on|off] [-v] 'COMMAND'" ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "one COMMAND argument expected"
CMD=$1

for tool in apt-get apt-cache dpkg-deb ldd; do
  command -v "$tool" >/dev/null || skip "$tool not found (a Debian-like host is needed)"
done
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
ROOT=$CACHE/root
SYSQEMU=${IPVS_VM_QEMU:-$(command -v qemu-system-x86_64 || true)}
MANIFEST=$CACHE/manifest-$KPKG-$([ -n "$SYSQEMU" ] && echo sysqemu || echo qemu)

# ---- packages: resolve versions (manifest kept a day), download, unpack ----
resolve() {
  local kimg qpkgs=() pkgs=(busybox-static ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0)
  kimg=$(apt-cache depends "$KPKG" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  [ -n "$kimg" ] || return 1
  if [ -z "$SYSQEMU" ]; then
    # Unpacked, not installed: `apt-get install qemu-system-x86` could
    # remove a newer qemu-utils on hosts with backports.
    mapfile -t qpkgs < <(apt-get install -s --no-install-recommends qemu-system-x86 2>/dev/null |
      awk '/^Inst /{print $2}')
    [ ${#qpkgs[@]} -gt 0 ] || return 1
  fi
  apt-cache policy "$kimg" "${pkgs[@]}" ${qpkgs[@]+"${qpkgs[@]}"} 2>/dev/null |
    awk -v k="$kimg" '/^[^ ].*:$/{n=substr($0,1,length($0)-1)}
      /^  Candidate:/{ if ($2=="(none)") print "MISSING", n; else print (n==k ? "kernel" : "root"), n, $2 }' \
    >"$MANIFEST.tmp"
  ! grep -q '^MISSING' "$MANIFEST.tmp" || return 1
  [ "$(wc -l <"$MANIFEST.tmp")" -eq $((1 + ${#pkgs[@]} + ${#qpkgs[@]})) ] || return 1
  mv "$MANIFEST.tmp" "$MANIFEST"
}
fetch() {
  local where p v dest f todo=() specs=()
  while read -r where p v; do
    dest=$ROOT; [ "$where" = kernel ] && dest=$CACHE/kernel/$p
    [ -e "$dest/.stamp-$p-${v//:/_}" ] || todo+=("$where $p $v")
  done <"$MANIFEST"
  [ ${#todo[@]} -gt 0 ] || return 0
  mkdir -p "$CACHE/debs"
  for t in "${todo[@]}"; do read -r where p v <<<"$t"; specs+=("$p=$v"); done
  log "downloading ${#specs[@]} package(s)"
  (cd "$CACHE/debs" && apt-get download -q "${specs[@]}" >/dev/null 2>&1) || return 1
  for t in "${todo[@]}"; do
    read -r where p v <<<"$t"
    dest=$ROOT; [ "$where" = kernel ] && dest=$CACHE/kernel/$p
    f=$(ls "$CACHE/debs/${p}_${v//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
    [ -n "$f" ] || return 1
    mkdir -p "$dest" && dpkg-deb -x "$f" "$dest" && rm -f "$f" || return 1
    touch "$dest/.stamp-$p-${v//:/_}"
  done
}
prepare() {
  if [ "${1:-}" = fresh ] || [ -z "$(find "$MANIFEST" -mmin -1440 2>/dev/null)" ]; then
    resolve || return 1
  fi
  fetch
}
if ! prepare; then
  # lists missing or stale (a kernel ABI left the archive): refresh once
  if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
  prepare fresh || skip "could not get the Debian packages (apt-get download failed; run apt-get update?)"
fi
kimg=$(awk '$1=="kernel"{print $2}' "$MANIFEST")
KROOT=$CACHE/kernel/$kimg
KVER=$(ls "$KROOT/lib/modules" | head -1)
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "no kernel image in $kimg"
BUSYBOX=$ROOT/bin/busybox
if [ -n "$SYSQEMU" ]; then
  QEMU=("$SYSQEMU")
else
  QEMU=(env "LD_LIBRARY_PATH=$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
    "$ROOT/usr/bin/qemu-system-x86_64" -L "$ROOT/usr/share/qemu" -L "$ROOT/usr/share/seabios"
    -L "$ROOT/usr/lib/ipxe/qemu")
fi

# ---- initramfs: busybox, ipvsadm, the ip_vs modules, the -f files ----
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-vm.XXXXXX")
QPID=
cleanup() {
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
IR=$WORK/ir
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,out,root,opt/bin,var/run}
install -m 755 "$BUSYBOX" "$IR/bin/busybox"
ln -s busybox "$IR/bin/sh"

LDD_PATH=$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu
copy_elf() { # SRC DEST: the file plus the libraries ldd finds for it
  local src=$1 dst=$2 lib g
  mkdir -p "$IR$(dirname "$dst")"
  cp -L "$src" "$IR$dst"
  LD_LIBRARY_PATH=$LDD_PATH ldd "$src" >/dev/null 2>&1 || return 0
  ! LD_LIBRARY_PATH=$LDD_PATH ldd "$src" | grep -q 'not found' || die "missing libraries for $src"
  for lib in $(LD_LIBRARY_PATH=$LDD_PATH ldd "$src" | grep -o '/[^ ]*'); do
    g=${lib#"$ROOT"}
    case $g in /lib/*|/lib64/*|/usr/lib/*) ;; *) g=/usr/lib/x86_64-linux-gnu/${g##*/} ;; esac
    [ -e "$IR$g" ] && continue
    mkdir -p "$IR$(dirname "$g")"; cp -L "$lib" "$IR$g"
  done
}
copy_elf "$ROOT/sbin/ipvsadm" /sbin/ipvsadm
for f in /etc/services /etc/protocols; do [ -f "$f" ] && cp "$f" "$IR$f"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$IR/etc/passwd"
printf 'root:x:0:\n' >"$IR/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$IR/etc/hosts"
for spec in ${FILES[@]+"${FILES[@]}"}; do
  src=${spec%%:*} dst=
  [ "$spec" != "$src" ] && dst=${spec#*:}
  [ -e "$src" ] || die "no such file: $src"
  [ -n "$dst" ] || dst=/opt/bin/$(basename "$src")
  if [ -d "$src" ]; then mkdir -p "$IR$dst"; cp -a "$src/." "$IR$dst/"; else copy_elf "$src" "$dst"; fi
done

# Every module under net/netfilter/ipvs plus the closure of their
# `depends=` (and `softdep pre:`), then busybox depmod so that modprobe and
# the kernel's autoloading (schedulers, the genl family alias) work.
MODDIR=$KROOT/lib/modules/$KVER
declare -A MODPATH=() HAVE=()
PRELOAD=()
while read -r n p; do n=${n%.ko}; MODPATH[${n//-/_}]=$p; done < <(cd "$MODDIR" && find kernel -name '*.ko' -printf '%f %p\n')
modinfo_field() { tr '\0' '\n' <"$MODDIR/$1" | sed -n "s/^$2=//p"; }
add_mod() {
  local n=${1//-/_} p d
  [ -z "${HAVE[$n]:-}" ] || return 0
  p=${MODPATH[$n]:-}
  [ -n "$p" ] || return 0                  # built in
  HAVE[$n]=1
  for d in $(modinfo_field "$p" softdep | awk '{for(i=1;i<=NF;i++){if($i=="pre:")f=1;else if($i=="post:")f=0;else if(f)print $i}}'); do
    d=${d//-/_}
    [ -z "${MODPATH[$d]:-}" ] && [ -n "${MODPATH[${d}_generic]:-}" ] && d=${d}_generic
    [ -n "${MODPATH[$d]:-}" ] || continue
    add_mod "$d"; PRELOAD+=("$d")
  done
  for d in $(modinfo_field "$p" depends | tr ',' ' '); do add_mod "$d"; done
  mkdir -p "$IR/lib/modules/$KVER/$(dirname "$p")"
  cp "$MODDIR/$p" "$IR/lib/modules/$KVER/$p"
}
for m in $(cd "$MODDIR" && find kernel/net/netfilter/ipvs -name '*.ko' -printf '%f\n'); do add_mod "${m%.ko}"; done
for m in ${IPVS_VM_MODULES:-}; do add_mod "$m"; PRELOAD+=("$m"); done
cp "$MODDIR"/modules.builtin* "$IR/lib/modules/$KVER/" 2>/dev/null || true
"$BUSYBOX" depmod -b "$IR" "$KVER" || die "depmod failed"

printf '#!/bin/sh\nexport PATH=/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp\ncd /root\n%s\n' "$CMD" >"$IR/run-test.sh"
cat >"$IR/init" <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/bin/busybox --install -s
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
[ $VERBOSE = 1 ] || dmesg -n 1
echo /sbin/modprobe >/proc/sys/kernel/modprobe
ip link set lo up
for m in ${PRELOAD[*]+${PRELOAD[*]}} ip_vs; do modprobe \$m || echo "ipvs-vm: modprobe \$m failed"; done
echo "@@IPVS-VM-BEGIN@@"
/bin/sh /run-test.sh </dev/null 2>&1
rc=\$?
echo "@@IPVS-VM-EXIT \$rc@@"
if [ -c /dev/ttyS1 ] && [ -n "\$(ls -A /out)" ]; then
  stty -F /dev/ttyS1 raw -echo 2>/dev/null
  tar -C /out -czf - . >/dev/ttyS1
fi
sync
reboot -f
EOF
chmod +x "$IR/init" "$IR/run-test.sh"
INITRD=$WORK/initrd.cpio
(cd "$IR" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 >"$INITRD" 2>/dev/null) || die "cpio failed"

# ---- boot ----
accel=(-accel tcg -cpu max)
case $KVM in
  on) accel=(-accel kvm -cpu host) ;;
  auto) if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=(-accel kvm -cpu host); fi ;;
  off) ;;
  *) die "-k takes auto, on or off" ;;
esac
LOG=$WORK/console.log OUTTAR=$WORK/out.tgz
: >"$LOG"; : >"$OUTTAR"
"${QEMU[@]}" "${accel[@]}" -M pc -m "${IPVS_VM_MEM:-512}" -smp "${IPVS_VM_SMP:-1}" -nodefaults -no-user-config -display none \
  -net none -no-reboot -serial "file:$LOG" -serial "file:$OUTTAR" \
  -kernel "$VMLINUZ" -initrd "$INITRD" \
  -append "console=ttyS0 panic=-1 oops=panic random.trust_cpu=on $([ $VERBOSE = 1 ] || echo quiet loglevel=1)" \
  </dev/null >"$WORK/qemu.out" 2>&1 &
QPID=$!
log "booting ${accel[1]} guest (qemu pid $QPID)"
if [ $VERBOSE = 1 ]; then
  tail -s 0.2 -f -n +1 --pid="$QPID" "$LOG" | tr -d '\r' >&2 &
else
  tail -s 0.2 -f -n +1 --pid="$QPID" "$LOG" | tr -d '\r' |
    awk '/@@IPVS-VM-EXIT /{exit} f{print; fflush()} /@@IPVS-VM-BEGIN@@/{f=1}' &
fi
TPID=$!
deadline=$(($(date +%s) + TIMEOUT)) timed_out=0
while kill -0 "$QPID" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then timed_out=1; kill "$QPID" 2>/dev/null || true; break; fi
  sleep 0.2
done
wait "$QPID" 2>/dev/null || true
QPID=
wait "$TPID" 2>/dev/null || true
if [ -n "$OUTDIR" ] && [ -s "$OUTTAR" ]; then
  mkdir -p "$OUTDIR" && tar -C "$OUTDIR" -xzf "$OUTTAR" || log "could not unpack /out"
fi
rc=$(tr -d '\r' <"$LOG" | sed -n 's/^@@IPVS-VM-EXIT \([0-9]*\)@@$/\1/p' | tail -1)
if [ $timed_out = 1 ]; then log "timed out after $TIMEOUT s"; tr -d '\r' <"$LOG" | tail -n 30 >&2; exit 124; fi
if [ -z "$rc" ]; then
  log "no result from the guest; qemu said: $(cat "$WORK/qemu.out")"
  tr -d '\r' <"$LOG" | tail -n 40 >&2
  exit 125
fi
exit "$rc"
