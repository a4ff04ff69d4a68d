#!/bin/bash
# Times `keepalived -t` (the real keepalived) against ours on two large
# generated configurations, in the same run and in the same network namespace:
#   vrrp:  2000 vrrp_instances spread over 10 veth interfaces (200 VRIDs each)
#   lvs:   1000 virtual_servers x 10 real_servers with TCP_CHECK
# and prints the median times and the ratio ours/keepalived.
#
# usage (as root): benches/config_test.sh [runs]
# env: KEEPALIVED (default /usr/sbin/keepalived), OURS (default
#      target/release/keepalived, built if missing), RUNS (default 15).
# Uses hyperfine when it is installed, otherwise a date +%s%N loop (median).
set -euo pipefail

runs=${1:-${RUNS:-15}}
root=$(cd "$(dirname "$0")/.." && pwd)
keepalived=${KEEPALIVED:-/usr/sbin/keepalived}
ours=${OURS:-$root/target/release/keepalived}

if [ "${1:-}" = __inner ]; then
    # Inside the namespace: $2 work dir, $3 runs, $4 keepalived, $5 ours.
    work=$2; runs=$3; keepalived=$4; ours=$5
    median_ms() { # command...: median wall time in ms over $runs runs
        local t=() s e i
        for ((i = 0; i < runs; i++)); do
            s=$(date +%s%N); "$@" >/dev/null 2>&1 </dev/null || true; e=$(date +%s%N)
            t+=($(((e - s) / 1000)))
        done
        printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m/1000}'
    }
    for name in vrrp lvs; do
        conf=$work/$name.conf
        "$keepalived" -t -f "$conf" >/dev/null 2>&1 </dev/null && kc=0 || kc=$?
        "$ours" -t -f "$conf" >/dev/null 2>&1 </dev/null && oc=0 || oc=$?
        if command -v hyperfine >/dev/null; then
            hyperfine -N -w 2 -r "$runs" -i --export-csv "$work/$name.csv" \
                -n keepalived "$keepalived -t -f $conf" -n ours "$ours -t -f $conf" >"$work/$name.hyperfine.txt" 2>&1
            k=$(awk -F, '$1=="keepalived" {printf "%.2f", $4*1000}' "$work/$name.csv")
            o=$(awk -F, '$1=="ours" {printf "%.2f", $4*1000}' "$work/$name.csv")
            tool=hyperfine
        else
            k=$(median_ms "$keepalived" -t -f "$conf")
            o=$(median_ms "$ours" -t -f "$conf")
            tool="date loop"
        fi
        ratio=$(awk -v o="$o" -v k="$k" 'BEGIN {printf "%.3f", o/k}')
        printf '%-5s %6d lines  keepalived %8s ms (exit %d)  ours %8s ms (exit %d)  ours/keepalived %s  [%s, median of %d]\n' \
            "$name" "$(wc -l <"$conf")" "$k" "$kc" "$o" "$oc" "$ratio" "$tool" "$runs"
    done
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "needs root (creates a network namespace)" >&2; exit 1; }
[ -x "$keepalived" ] || { echo "$keepalived not found (apt-get install keepalived)" >&2; exit 1; }
if [ ! -x "$ours" ]; then (cd "$root" && cargo build --release --quiet); fi

work=$(mktemp -d)
ns=kabench$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

ip netns add "$ns"
for i in $(seq 0 9); do
    ip -n "$ns" link add "eth$i" type veth peer name "peer$i"
    ip -n "$ns" link set "eth$i" up
    ip -n "$ns" link set "peer$i" up
done
ip -n "$ns" link set lo up

# 2000 VRRP instances: VRIDs are unique per interface, so 200 per interface.
{
    printf 'global_defs {\n    router_id bench\n}\n\n'
    for ((n = 0; n < 2000; n++)); do
        ifn=$((n / 200)); vrid=$((n % 200 + 1))
        printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface eth%d\n    virtual_router_id %d\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        10.%d.%d.%d/16\n    }\n}\n' \
            "$n" "$ifn" "$vrid" $((100 + ifn)) $((vrid / 250)) $((vrid % 250 + 1))
    done
} >"$work/vrrp.conf"

# 1000 virtual servers with 10 real servers each.
{
    printf 'global_defs {\n    router_id bench\n}\n\n'
    for ((v = 0; v < 1000; v++)); do
        printf 'virtual_server 10.200.%d.%d 80 {\n    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n' $((v / 250)) $((v % 250 + 1))
        for ((r = 1; r <= 10; r++)); do
            printf '    real_server 10.%d.%d.%d 8080 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n' \
                $((201 + v / 250 / 10)) $((v % 250)) $((r + (v / 250 % 10) * 10))
        done
        printf '}\n'
    done
} >"$work/lvs.conf"

ip netns exec "$ns" bash "$0" __inner "$work" "$runs" "$keepalived" "$ours"
