#!/usr/bin/env bash
# ipvs_vm_10k.sh - 10 000 real servers with TCP_CHECK at delay_loop 1:
# keepalived 2.2.7 and ours side by side in one boot of the IPVS VM of
# tests/ipvs_vm/vm.sh (a Debian kernel under QEMU; no root needed).
#
# The configuration has VS virtual servers x RS real servers (non-local
# addresses, lb_kind NAT, `alpha`: a real server enters IPVS only after a
# successful check), each with a TCP_CHECK whose connect_ip/connect_port
# is one of PORTS listeners of examples/accept_sink on 127.0.1.1 in the
# guest (they accept, close and count). In the guest
# (benches/ipvs_vm_10k_guest.sh) each implementation in turn is started
# (-n -l -G -C), must bring all destinations up, runs WARM seconds, then is
# measured for WINDOW seconds: the checker process's utime+stime, the
# connections the listeners accepted (the check rate actually achieved),
# its VmRSS/VmHWM, the destinations at the end and the failures it logged.
# Prints the table and the ratios ours/keepalived.
#
# usage: benches/ipvs_vm_10k.sh [-k auto|on|off]
# env: KEEPALIVED (default /usr/sbin/keepalived), OURS (a keepalived-rs
#      binary; default: cargo build --release), VS (100), RS (100),
#      PORTS (10), WARM (10), WINDOW (30), UPWAIT (120), ROUNDS (1),
#      SMP (2 vCPUs), MEM (2048 MiB), OUT (where results stay; default a
#      temporary directory).
set -euo pipefail

kvm=auto
while getopts ':k:' opt; do
  case $opt in
    k) kvm=$OPTARG ;;
    *) echo "usage: $0 [-k auto|on|off]" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
keepalived=${KEEPALIVED:-/usr/sbin/keepalived}
VS=${VS:-100} RS=${RS:-100} PORTS=${PORTS:-10}
WARM=${WARM:-10} WINDOW=${WINDOW:-30} UPWAIT=${UPWAIT:-120} ROUNDS=${ROUNDS:-1}
SMP=${SMP:-2} MEM=${MEM:-2048}
[ -x "$keepalived" ] || { echo "no keepalived binary at $keepalived" >&2; exit 1; }
[ "$RS" -le 250 ] && [ "$VS" -le 250 ] || { echo "VS and RS: at most 250" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release --quiet --example accept_sink $([ -n "${OURS:-}" ] || echo --bin keepalived))
ours=${OURS:-$target/release/keepalived}
sink=$target/release/examples/accept_sink

work=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-vm-10k.XXXXXX")
out=${OUT:-$work/out}
mkdir -p "$work/bench" "$out"
# The guest's initramfs holds the binaries: without debug info.
objcopy --strip-debug "$ours" "$work/keepalived-rs" 2>/dev/null || cp "$ours" "$work/keepalived-rs"
objcopy --strip-debug "$sink" "$work/accept_sink" 2>/dev/null || cp "$sink" "$work/accept_sink"

conf=$work/bench/bench.conf
awk -v nvs="$VS" -v nrs="$RS" -v ports="$PORTS" -f "$root/benches/tcp_check_conf.awk" >"$conf"
n=$((VS * RS))
cat >"$work/bench/params" <<EOF
N=$n
PORTS=$PORTS
WARM=$WARM
WINDOW=$WINDOW
UPWAIT=$UPWAIT
ROUNDS=$ROUNDS
EOF
echo "ipvs_vm_10k: $VS virtual servers x $RS real servers = $n TCP_CHECKs, delay_loop 1;" \
  "warm-up $WARM s, window $WINDOW s, $ROUNDS round(s); VM: $SMP vCPU(s), $MEM MiB; work dir $work" >&2

limit=$(( (UPWAIT + WARM + WINDOW + 30) * 2 * ROUNDS + 120 ))
rc=0
IPVS_VM_SMP=$SMP IPVS_VM_MEM=$MEM "$root/tests/ipvs_vm/vm.sh" -k "$kvm" -t "$limit" -o "$out" \
  -f "$work/keepalived-rs:/opt/bin/keepalived-rs" \
  -f "$keepalived:/usr/sbin/keepalived" \
  -f "$work/accept_sink:/opt/bin/accept_sink" \
  -f "$root/benches/ipvs_vm_10k_guest.sh:/opt/bin/bench.sh" \
  -f "$work/bench:/opt/bench" \
  'sh /opt/bin/bench.sh' || rc=$?
[ "$rc" = 0 ] || { echo "vm.sh failed ($rc); outputs in $out" >&2; exit "$rc"; }

# key=value files -> table (the mean of the rounds)
awk -v window="$WINDOW" -v n="$n" '
  FNR == 1 { impl = FILENAME; sub(/.*\//, "", impl); sub(/-[0-9]+\.result$/, "", impl); runs[impl]++ }
  { split($0, kv, "="); v[impl, kv[1]] += kv[2] }
  function get(i, k) { return v[i, k] / runs[i] }
  END {
    if (!runs["ka"] || !runs["ours"]) { print "missing results" > "/dev/stderr"; exit 1 }
    for (i in runs) {
      cpu[i] = (get(i, "utime") + get(i, "stime")) / 100      # CPU seconds (USER_HZ 100)
      pct[i] = 100 * cpu[i] / get(i, "wall")
      rate[i] = get(i, "accepted") / get(i, "wall")
      per[i] = rate[i] > 0 ? 1e6 * cpu[i] / get(i, "accepted") : 0   # CPU us per check
    }
    printf "| measure | keepalived 2.2.7 | keepalived-rs | ours/keepalived |\n|---|---|---|---|\n"
    printf "| destinations up at start / after the window (of %d) | %d / %d | %d / %d | |\n", n, get("ka", "up_start"), get("ka", "dests"), get("ours", "up_start"), get("ours", "dests")
    printf "| time until all are up | %.1f s | %.1f s | %.2f |\n", get("ka", "t_up"), get("ours", "t_up"), get("ours", "t_up") / get("ka", "t_up")
    printf "| checks per second (accepted by the listeners) | %.0f | %.0f | %.2f |\n", rate["ka"], rate["ours"], rate["ours"] / rate["ka"]
    printf "| check failures logged in the window | %d | %d | |\n", get("ka", "fails"), get("ours", "fails")
    printf "| checker CPU (utime+stime) over %d s | %.2f s (%.1f%%) | %.2f s (%.1f%%) | **%.2f** |\n", window, cpu["ka"], pct["ka"], cpu["ours"], pct["ours"], cpu["ours"] / cpu["ka"]
    printf "| of which user / system | %.2f / %.2f s | %.2f / %.2f s | %.2f / %.2f |\n", get("ka", "utime") / 100, get("ka", "stime") / 100, get("ours", "utime") / 100, get("ours", "stime") / 100, get("ka", "utime") ? get("ours", "utime") / get("ka", "utime") : 0, get("ka", "stime") ? get("ours", "stime") / get("ka", "stime") : 0
    printf "| CPU per check | %.1f us | %.1f us | %.2f |\n", per["ka"], per["ours"], per["ka"] ? per["ours"] / per["ka"] : 0
    printf "| checker VmRSS at the end | %.1f MiB | %.1f MiB | **%.2f** |\n", get("ka", "rss") / 1024, get("ours", "rss") / 1024, get("ours", "rss") / get("ka", "rss")
    printf "| checker VmHWM (peak RSS) | %.1f MiB | %.1f MiB | %.2f |\n", get("ka", "hwm") / 1024, get("ours", "hwm") / 1024, get("ours", "hwm") / get("ka", "hwm")
    printf "| parent VmRSS | %.1f MiB | %.1f MiB | %.2f |\n", get("ka", "parent_rss") / 1024, get("ours", "parent_rss") / 1024, get("ours", "parent_rss") / get("ka", "parent_rss")
  }' "$out"/ka-*.result "$out"/ours-*.result
echo "results and logs: $out" >&2
