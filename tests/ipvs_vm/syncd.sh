#!/bin/sh
# syncd.sh - runs inside the VM (see vm.sh): `lvs_sync_daemon` following a
# VRRP instance, keepalived 2.2.7 then ours, on a veth pair (the instance
# runs on v0; taking v1 down takes v0's carrier: FAULT). Configurations in
# /opt/syncd: a.conf at start, b.conf after the reload. For each IMPL (ka,
# ours) it writes /out/syncd/IMPL-STEP.txt (`ipvsadm -L --daemon` after
# each step) and IMPL.log; then ours-stale-start.txt: ours started while
# daemons of a crashed run are still there.
IP=/opt/bin/ip
WAIT=${WAIT:-20}
o=/out/syncd
mkdir -p "$o"
$IP link add v0 type veth peer name v1
$IP addr add 10.9.0.1/24 dev v0
$IP link set v0 up
$IP link set v1 up

daemons() { ipvsadm -L --daemon 2>&1; }

# step IMPL NAME: until the daemons differ from the last snapshot (at most
# WAIT s), then one more second, then a snapshot
step() {
  i=0
  while [ "$i" -lt $((WAIT * 5)) ] && daemons | cmp -s - /tmp/last; do
    sleep 0.2
    i=$((i + 1))
  done
  sleep 1
  daemons >"$o/$1-$2.txt"
  cp "$o/$1-$2.txt" /tmp/last
  echo "@@ step $2 at $(cut -d' ' -f1 /proc/uptime)" >>"$o/$1.log"
}

start() { # IMPL BIN
  cp /opt/syncd/a.conf /run/s.conf
  "$2" -n -l -D -f /run/s.conf -p "/run/$1.pid" >"$o/$1.log" 2>&1 &
  pid=$!
}

stop() { # IMPL
  kill -TERM "$pid"
  wait "$pid"
  echo "@@ exit $?" >>"$o/$1.log"
}

for impl in ka ours; do
  bin=/usr/sbin/keepalived
  [ "$impl" = ours ] && bin=/opt/bin/keepalived-rs
  daemons >/tmp/last
  start "$impl" "$bin"
  step "$impl" start # BACKUP: backup daemon
  step "$impl" master
  $IP link set v1 down
  step "$impl" fault
  $IP link set v1 up
  step "$impl" back # BACKUP, then MASTER again
  cp /opt/syncd/b.conf /run/s.conf
  kill -HUP "$pid"
  step "$impl" reload
  stop "$impl"
  step "$impl" stop
done

ipvsadm --start-daemon master --mcast-interface v1 --syncid 9
ipvsadm --start-daemon backup --mcast-interface v1 --syncid 9
daemons >/tmp/last
start ours-stale /opt/bin/keepalived-rs
step ours-stale start
stop ours-stale
echo "syncd done"
