# tcp_check_conf.awk - the configuration of the 10 000 real server
# benchmarks: awk -v nvs=VS -v nrs=RS -v ports=PORTS -f tcp_check_conf.awk
# writes VS virtual servers x RS real servers (non-local addresses,
# lb_kind NAT, `alpha`), each real server with a TCP_CHECK at delay_loop 1
# to one of PORTS listeners on 127.0.1.1, from port 9000.
BEGIN {
  print "global_defs {\n  router_id bench\n}"
  for (v = 0; v < nvs; v++) {
    printf "virtual_server 192.168.%d.%d 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  alpha\n", int(v / 250), v % 250 + 1
    for (r = 0; r < nrs; r++) {
      printf "  real_server 10.%d.%d.%d 80 {\n    TCP_CHECK {\n      connect_ip 127.0.1.1\n      connect_port %d\n      connect_timeout 3\n    }\n  }\n", 1 + int(v / 250), v % 250, r + 1, 9000 + (v * nrs + r) % ports
    }
    print "}"
  }
}
