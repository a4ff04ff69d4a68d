#!/usr/bin/env bash
# checker_host_10k.sh - where the CPU of 10 000 TCP_CHECKs a second goes,
# on the host (root; a network namespace of its own, removed at the end).
# The configuration is benches/ipvs_vm_10k.sh's; the listeners are
# examples/accept_sink on 127.0.1.1 inside the namespace. This kernel has
# no IPVS: our checker child goes on checking (and retries IPVS), while
# keepalived 2.2.7's stops ("IPVS: Can't initialize ipvs"), so only ours
# runs here; the side-by-side figures are benches/ipvs_vm_10k.sh's.
#
# Prints the check rate, the checker's user and system time per check
# and, with perf installed, the share of the checker's CPU samples spent
# in the kernel, in our code and in the rest of user space.
#
# usage: benches/checker_host_10k.sh      env: OURS, WARM (8), WINDOW (15)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
WARM=${WARM:-8} WINDOW=${WINDOW:-15}
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release --quiet --example accept_sink $([ -n "${OURS:-}" ] || echo --bin keepalived))
ours=${OURS:-$target/release/keepalived}

work=$(mktemp -d "${TMPDIR:-/tmp}/checker-host-10k.XXXXXX")
ns=ckhost$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

awk -v nvs=100 -v nrs=100 -v ports=10 -f "$root/benches/tcp_check_conf.awk" >"$work/bench.conf"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sh -c 'echo "1024 65000" >/proc/sys/net/ipv4/ip_local_port_range; echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse'
ip netns exec "$ns" "$target/release/examples/accept_sink" 127.0.1.1 9000 10 "$work/accepted" &
pids+=($!)
sleep 0.5
ip netns exec "$ns" "$ours" -n -l -C -f "$work/bench.conf" -p "$work/ka.pid" -c "$work/check.pid" >"$work/log" 2>&1 &
pids=($! "${pids[@]}")
sleep "$WARM"
checker=$(cat "$work/check.pid")
ticks() { sed 's/^.*) //' "/proc/$checker/stat" | awk '{print $12, $13}'; }

read -r u0 s0 < <(ticks)
a0=$(cat "$work/accepted")
if command -v perf >/dev/null; then
  perf record -q -F 999 -p "$checker" -o "$work/perf.data" -- sleep "$WINDOW" >/dev/null 2>&1
else
  sleep "$WINDOW"
fi
read -r u1 s1 < <(ticks)
a1=$(cat "$work/accepted")

n=$((a1 - a0))
awk -v n="$n" -v w="$WINDOW" -v u=$((u1 - u0)) -v s=$((s1 - s0)) 'BEGIN {
  printf "checks per second: %.0f\n", n / w
  printf "checker CPU per check: user %.1f us, system %.1f us (USER_HZ 100)\n", u * 1e4 / n, s * 1e4 / n
}'
if [ -f "$work/perf.data" ]; then
  perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null |
    awk '/%/ && !/^#/ { sub(/%/, "", $1); if ($2 == "[kernel.kallsyms]") k += $1; else if ($2 == "keepalived") o += $1; else r += $1 }
      END { printf "samples: kernel %.1f%%, keepalived-rs %.1f%%, other user space %.1f%%\n", k, o, r }'
fi
grep VmRSS "/proc/$checker/status"
