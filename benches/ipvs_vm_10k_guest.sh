#!/bin/sh
# ipvs_vm_10k_guest.sh - the guest side of benches/ipvs_vm_10k.sh, run
# inside the VM of tests/ipvs_vm/vm.sh. /opt/bench holds bench.conf (the
# generated configuration) and params (shell variables: N destinations
# expected, PORTS listener ports from 9000, WARM, WINDOW, UPWAIT seconds,
# ROUNDS). For each round, keepalived 2.2.7 then ours: start the daemon
# (-n -l -G -C), wait until IPVS has all N destinations (the real servers are
# `alpha`: each enters IPVS only after a successful TCP_CHECK), let it run
# WARM seconds, then measure WINDOW seconds: the checker child's utime and
# stime (/proc/PID/stat), the connections the listeners accepted, then
# VmRSS/VmHWM of the checker and of the parent, the destinations, and
# the check failures the log reports. One key=value file per run goes to
# /out/IMPL-ROUND.result, the daemon's log to /out/IMPL-ROUND.log.
. /opt/bench/params

now() { cut -d' ' -f1 /proc/uptime; }
dests() { ipvsadm -Ln | grep -c '^  -> [0-9]'; }
ticks() { # PID: utime stime (clock ticks), fields 14 and 15 of stat
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'
}
status() { # PID FIELD: kB
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
accepted() { cat /run/accepted 2>/dev/null || echo 0; }

# Enough ephemeral ports and file descriptors for 10 000 checks a second.
echo "1024 65000" >/proc/sys/net/ipv4/ip_local_port_range
echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse
ulimit -n 65536
accept_sink 127.0.1.1 9000 "$PORTS" /run/accepted &
sink=$!
sleep 1
echo "guest: $(grep -c ^processor /proc/cpuinfo) CPU(s), $(awk '/MemTotal/{print $2}' /proc/meminfo) kB, kernel $(uname -r)"

r=1
while [ "$r" -le "$ROUNDS" ]; do
  for impl in ka ours; do
    bin=/usr/sbin/keepalived
    [ "$impl" = ours ] && bin=/opt/bin/keepalived-rs
    res=/out/$impl-$r.result
    ipvsadm -C
    rm -f /run/bench.pid /run/bench-check.pid
    t0=$(now)
    "$bin" -n -l -G -C -f /opt/bench/bench.conf -p /run/bench.pid -c /run/bench-check.pid \
      >"/out/$impl-$r.log" 2>&1 &
    pid=$!
    # until all N destinations are in IPVS (or UPWAIT s)
    up=0
    while :; do
      up=$(dests)
      [ "$up" -ge "$N" ] && break
      if [ "$(awk -v a="$(now)" -v b="$t0" -v w="$UPWAIT" 'BEGIN {print (a - b > w)}')" = 1 ]; then
        break
      fi
      sleep 0.5
    done
    t_up=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.1f", a - b}')
    echo "guest: $impl round $r: $up destinations after $t_up s"
    sleep "$WARM"
    cpid=$(cat /run/bench-check.pid 2>/dev/null)
    if [ -z "$cpid" ] || [ ! -d "/proc/$cpid" ]; then
      echo "guest: $impl: no checker process"
      echo "error=no checker process" >"$res"
      kill -TERM "$pid" 2>/dev/null
      wait "$pid"
      continue
    fi
    fails0=$(grep -ciE 'fail|timeout|timedout' "/out/$impl-$r.log")
    set -- $(ticks "$cpid")
    u0=$1 s0=$2
    a0=$(accepted)
    w0=$(now)
    sleep "$WINDOW"
    set -- $(ticks "$cpid")
    u1=$1 s1=$2
    a1=$(accepted)
    w1=$(now)
    {
      echo "impl=$impl"
      echo "round=$r"
      echo "t_up=$t_up"
      echo "up_start=$up"
      echo "wall=$(awk -v a="$w1" -v b="$w0" 'BEGIN {printf "%.2f", a - b}')"
      echo "utime=$((u1 - u0))"
      echo "stime=$((s1 - s0))"
      echo "accepted=$((a1 - a0))"
      echo "rss=$(status "$cpid" VmRSS)"
      echo "hwm=$(status "$cpid" VmHWM)"
      echo "threads=$(status "$cpid" Threads)"
      echo "parent_rss=$(status "$pid" VmRSS)"
      echo "dests=$(dests)"
      echo "fails=$(($(grep -ciE 'fail|timeout|timedout' "/out/$impl-$r.log") - fails0))"
    } >"$res"
    cat "$res" | tr '\n' ' '
    echo
    kill -TERM "$pid"
    wait "$pid"
    echo "exit=$?" >>"$res"
  done
  r=$((r + 1))
done
kill "$sink"
echo "guest: done"
