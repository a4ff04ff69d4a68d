#!/bin/sh
# guest.sh - runs inside the VM (see vm.sh). For each scenario directory
# /opt/scen/NAME (ours.conf, optional down = IP:PORT and ka-down.conf) it
# programs IPVS with ipvs_apply, then with keepalived 2.2.7 on the same
# config, and snapshots ipvsadm after each step into /out/NAME/:
#   ours-up ours-down ours-stop   ipvs_apply, --down IP:PORT, --stop
#   ka-up ka-up-stop              keepalived -C on ours.conf, then SIGTERM
#   ka-down ka-down-stop          keepalived on ka-down.conf (a TCP_CHECK
#                                 that fails marks the down server)
#   ours-daemon ref-daemon        with a file `sync` (master|backup) and
#                                 `sync-ref` (ipvsadm --start-daemon args):
#                                 ipvs_apply --sync-state vs ipvsadm itself
# Connection timeouts are reset to the kernel's defaults before each run;
# with a file `foreign`, a service that is not in the config is added
# first (lvs_flush / lvs_flush_on_stop must remove it, nothing else may).
# keepalived is given up to KA_WAIT seconds to reach the state ipvs_apply
# produced (it needs a check cycle to notice a failure); the host compares.
KA_WAIT=${KA_WAIT:-15}

snap() { # FILE
  {
    ipvsadm -Sn | sort
    echo '--- list'; ipvsadm -Ln --tun-info
    echo '--- thresholds'; ipvsadm -Ln --thresholds
    echo '--- persistent'; ipvsadm -Ln --persistent-conn
    echo '--- timeout'; ipvsadm -L --timeout
  } >"$1" 2>&1
}

canon() { ipvsadm -Sn | sort; }

reset() {
  ipvsadm -C
  ipvsadm --set 900 120 300
  if [ -f "$d/foreign" ]; then ipvsadm -A -t 192.0.2.1:1 -s rr; fi
}

# until `ipvsadm -Sn` matches WANT (then one more second to see it stays)
settle() { # WANT SECONDS
  i=0
  while [ "$i" -lt $(($2 * 5)) ]; do
    canon >/tmp/now
    if cmp -s /tmp/now "$1"; then sleep 1; return 0; fi
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}

run_ka() { # CONF WANT TAG
  keepalived -n -l -D -C -f "$1" -p /run/ka.pid -c /run/ka-check.pid >"$o/ka-$3.log" 2>&1 &
  pid=$!
  settle "$2" "$KA_WAIT" || echo "@@ no convergence within $KA_WAIT s" >>"$o/ka-$3.log"
  snap "$o/ka-$3.txt"
  kill -TERM "$pid"
  wait "$pid"
  echo "@@ exit $?" >>"$o/ka-$3.log"
  snap "$o/ka-$3-stop.txt"
}

for d in /opt/scen/*/; do
  n=$(basename "$d")
  o=/out/$n
  mkdir -p "$o"
  echo "scenario $n"
  down=
  [ -f "$d/down" ] && down=$(cat "$d/down")

  reset
  { ipvs_apply "$d/ours.conf"; echo "@@ rc $?"; } >"$o/ours.log" 2>&1
  snap "$o/ours-up.txt"
  canon >/tmp/want-up
  if [ -n "$down" ]; then
    { ipvs_apply --down "$down" "$d/ours.conf"; echo "@@ rc $?"; } >>"$o/ours.log" 2>&1
    snap "$o/ours-down.txt"
    canon >/tmp/want-down
    { ipvs_apply --down "$down" --stop "$d/ours.conf"; echo "@@ rc $?"; } >>"$o/ours.log" 2>&1
  else
    { ipvs_apply --stop "$d/ours.conf"; echo "@@ rc $?"; } >>"$o/ours.log" 2>&1
  fi
  snap "$o/ours-stop.txt"

  reset
  run_ka "$d/ours.conf" /tmp/want-up up
  if [ -n "$down" ]; then
    reset
    run_ka "$d/ka-down.conf" /tmp/want-down down
  fi
  reset
  if [ -f "$d/sync" ]; then
    state=$(cat "$d/sync")
    { ipvs_apply --sync-state "$state" "$d/ours.conf"; echo "@@ rc $?"; } >>"$o/ours.log" 2>&1
    ipvsadm -L --daemon >"$o/ours-daemon.txt" 2>&1
    { ipvs_apply --sync-state "$state" --stop "$d/ours.conf"; echo "@@ rc $?"; } >>"$o/ours.log" 2>&1
    ipvsadm -L --daemon >"$o/ours-daemon-stop.txt" 2>&1
    # shellcheck disable=SC2046
    ipvsadm --start-daemon $(cat "$d/sync-ref") >"$o/ref-daemon.txt" 2>&1
    ipvsadm -L --daemon >>"$o/ref-daemon.txt" 2>&1
    ipvsadm --stop-daemon "$state"
    reset
  fi
done
echo "guest done"
