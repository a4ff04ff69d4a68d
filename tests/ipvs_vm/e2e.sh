#!/bin/sh
# e2e.sh - runs inside the VM (see vm.sh): the whole daemon, ours and
# keepalived 2.2.7 in turn, on the same configurations, with real servers
# that are busybox httpd listeners on 127.0.1.1 or [::1] (the TCP_CHECKs
# connect there; the real-server addresses themselves are not local, so
# IPVS shows their forwarding method). For each scenario directory
# /opt/e2e/NAME:
#   a.conf      the configuration at start
#   b.conf      the configuration after reload (SIGHUP)
#   ports       the listener ports to start on 127.0.1.1 (one per line)
#   ports6      the listener ports to start on [::1] (one per line)
#   victim      the port of the listener stopped, then started again
#   foreign     if present: someone else's service is added before start
# and for each implementation IMPL (ka, ours) it writes to /out/e2e/NAME/:
#   IMPL-start IMPL-down IMPL-up IMPL-reload IMPL-stop   ipvsadm snapshots
#   IMPL.log     the daemon's console log
#   IMPL.fifo    everything written to lvs_notify_fifo /run/lvs.fifo
#   IMPL.all     everything written to notify_fifo /run/all.fifo
#   IMPL-start.data IMPL-down.data IMPL-reload.data   keepalived_check.data
#                after SIGUSR1 to the parent at those steps
# keepalived runs first: each of its steps waits for IPVS to change and
# then stay unchanged for STABLE seconds; ours must then reach the same
# state within WAIT seconds (and keep it for a second). The host compares.
WAIT=${WAIT:-20}
STABLE=${STABLE:-3}

canon() { ipvsadm -Sn | sort; }

snap() { # FILE
  {
    canon
    echo '--- list'; ipvsadm -Ln --tun-info
    echo '--- thresholds'; ipvsadm -Ln --thresholds
    echo '--- persistent'; ipvsadm -Ln --persistent-conn
    echo '--- timeouts'; ipvsadm -L --timeout
  } >"$1" 2>&1
}

# keepalived: until IPVS differs from $1, then stays put for STABLE s
wait_change() { # PREV
  i=0
  while [ "$i" -lt $((WAIT * 5)) ]; do
    canon >/tmp/now
    cmp -s /tmp/now "$1" || break
    sleep 0.2
    i=$((i + 1))
  done
  cp /tmp/now /tmp/last
  same=0
  while [ "$same" -lt $((STABLE * 5)) ] && [ "$i" -lt $((WAIT * 10)) ]; do
    sleep 0.2
    i=$((i + 1))
    canon >/tmp/now
    if cmp -s /tmp/now /tmp/last; then same=$((same + 1)); else same=0; cp /tmp/now /tmp/last; fi
  done
}

# ours: until IPVS equals WANT (then one more second to see it stays)
settle() { # WANT
  i=0
  while [ "$i" -lt $((WAIT * 5)) ]; do
    canon >/tmp/now
    if cmp -s /tmp/now "$1"; then sleep 1; return 0; fi
    sleep 0.2
    i=$((i + 1))
  done
  echo "@@ no convergence within $WAIT s"
}

# SIGUSR1 to the parent: the checker's keepalived_check.data of step $1
# (keepalived writes it in place: given half a second once it appears)
checkdump() { # STEP
  rm -f /tmp/keepalived_check.data
  kill -USR1 "$pid"
  i=0
  while [ ! -s /tmp/keepalived_check.data ] && [ "$i" -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.5
  cp /tmp/keepalived_check.data "$o/$impl-$1.data" 2>>"$o/$impl.log"
}

listen() { # ADDR PORT
  httpd -f -p "$1:$2" -h /tmp/www &
  echo $! >"/run/httpd-$2.pid"
  echo "$1" >"/run/httpd-$2.addr"
}

unlisten() { # PORT
  kill "$(cat "/run/httpd-$1.pid")"
  wait "$(cat "/run/httpd-$1.pid")" 2>/dev/null
}

# step NAME: wait for the daemon (keepalived: a change; ours: keepalived's
# state of that step), then snapshot
step() {
  if [ "$impl" = ka ]; then
    wait_change /tmp/prev
  else
    settle "$o/want-$1" >>"$o/$impl.log"
  fi
  snap "$o/$impl-$1.txt"
  canon >/tmp/prev
  [ "$impl" = ka ] && canon >"$o/want-$1"
  echo "@@ step $1 at $(cut -d' ' -f1 /proc/uptime)" >>"$o/$impl.log"
}

mkdir -p /tmp/www
echo ok >/tmp/www/index.html
for d in /opt/e2e/*/; do
  n=$(basename "$d")
  o=/out/e2e/$n
  mkdir -p "$o"
  for impl in ka ours; do
    echo "e2e $n $impl"
    bin=/usr/sbin/keepalived
    [ "$impl" = ours ] && bin=/opt/bin/keepalived-rs
    ipvsadm -C
    ipvsadm --set 900 120 300
    [ -f "$d/foreign" ] && ipvsadm -A -t 192.0.2.1:1
    : >/tmp/prev
    for p in $(cat "$d/ports"); do listen 127.0.1.1 "$p"; done
    for p in $(cat "$d/ports6" 2>/dev/null); do listen '[::1]' "$p"; done
    victim=$(cat "$d/victim")
    cp "$d/a.conf" /run/e2e.conf
    rm -f /run/lvs.fifo /run/all.fifo
    mkfifo /run/lvs.fifo /run/all.fifo
    # Read and write end held open: the daemon's reopen at reload loses
    # nothing, and cat never sees EOF.
    exec 3<>/run/lvs.fifo 4<>/run/all.fifo
    cat <&3 >"$o/$impl.fifo" &
    catpid=$!
    cat <&4 >"$o/$impl.all" &
    catpid2=$!
    "$bin" -n -l -D -C -f /run/e2e.conf -p "/run/$impl.pid" -c "/run/$impl-check.pid" \
      >"$o/$impl.log" 2>&1 &
    pid=$!
    step start
    checkdump start
    unlisten "$victim"
    step down
    checkdump down
    listen "$(cat "/run/httpd-$victim.addr")" "$victim"
    step up
    cp "$d/b.conf" /run/e2e.conf
    kill -HUP "$pid"
    step reload
    checkdump reload
    kill -TERM "$pid"
    wait "$pid"
    echo "@@ exit $?" >>"$o/$impl.log"
    snap "$o/$impl-stop.txt"
    sleep 0.5
    kill "$catpid" "$catpid2"
    wait "$catpid" "$catpid2" 2>/dev/null
    exec 3<&- 4<&-
    for p in $(cat "$d/ports" "$d/ports6" 2>/dev/null); do unlisten "$p"; done
  done
done
echo "e2e done"
