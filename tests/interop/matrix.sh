#!/bin/bash
# The interop matrix (issue 6), run INSIDE the kernel-lab VM by scripts/interop.sh:
# one VM boot, many scenarios; daemons and namespaces are rebuilt between scenarios.
#
# Environment: DMVPN (our binary, host path = same path in the VM), ONLY (space-separated
# scenario names to run; default all), LAB_OUT (results folder, from kernel-lab).
# Output: $LAB_OUT/RESULTS.txt (PASS/FAIL/NOTE lines), $LAB_OUT/<scenario>/ (capture.pcapng,
# per-node show outputs, configs, daemon logs). Host-side checks (decode comparison) run after.
set -u
. "$LAB_SCENARIO_DIR/lib.sh"
: "${DMVPN:?DMVPN must name our binary}"
ONLY=${ONLY:-}
: > "$LAB_OUT/RESULTS.txt"
log "dmvpn: $DMVPN ($("$DMVPN" --version 2>&1)); frr: $(/usr/lib/frr/nhrpd --version 2>&1 | head -1)"
lab_init
nodes_create
capture_start

# scenario NAME HUB S1 S2 PHASE AUTH KEY HOLD UNIQUE MISMATCH EXPIRY
#   HUB/S1/S2 : frr|ours     PHASE: 2|3     AUTH: key or ""    KEY: GRE key or ""
#   HOLD: holdtime (s)       UNIQUE: unique|no-unique (FRR spokes)
#   MISMATCH: spoke that gets a wrong authentication key later, or ""
#   EXPIRY: yes = wait for a registration refresh, then kill the spokes and wait for expiry
scenario() {
  local name=$1 hk=$2 k1=$3 k2=$4 phase=$5 auth=$6 key=$7 hold=$8 uniq=$9 mism=${10} expiry=${11}
  if [ -n "$ONLY" ] && ! [[ " $ONLY " == *" $name "* ]]; then return 0; fi
  SCEN=$name; SOUT=$LAB_OUT/$name; rm -rf "$SOUT"; mkdir -p "$SOUT"
  local t_start; t_start=$(date +%s)
  log "================ scenario $name: hub=$hk s1=$k1 s2=$k2 phase=$phase auth=${auth:-none} key=${key:-none} hold=$hold $uniq mismatch=${mism:-none} expiry=$expiry"
  echo "hub=$hk s1=$k1 s2=$k2 phase=$phase auth=${auth:-none} key=${key:-none} hold=$hold frr-spokes=$uniq mismatch=${mism:-none} expiry=$expiry" > "$SOUT/SCENARIO.txt"
  echo "$name start $(date +%s.%N)" >> "$LAB_OUT/times.txt"
  tunnel_up hub "$hk" "$key"; tunnel_up s1 "$k1" "$key"; tunnel_up s2 "$k2" "$key"
  local n role other
  for n in hub s1 s2; do
    role=spoke; [ $n = hub ] && role=hub
    other=s2; [ $n = s2 ] && other=s1
    if [ "${KIND[$n]}" = frr ]; then frr_config "$n" "$role" "$phase" "$hold" "$auth" "$uniq" "$other"
    else ours_config "$n" "$role" "$phase" "$hold" "$auth" "$key" "$other"; fi
  done
  for n in hub s1 s2; do
    if [ "${KIND[$n]}" = frr ]; then frr_start "$n"; else ours_start "$n" || check "daemon of $n starts" false; fi
  done

  # 1. registrations, seen on both sides
  check "hub ($hk) lists s1 ($k1) as registered" wait_for 90 "hub lists s1" hub_lists hub s1
  check "hub ($hk) lists s2 ($k2) as registered" wait_for 60 "hub lists s2" hub_lists hub s2
  check "s1 ($k1) sees its NHS up" wait_for 30 "s1 NHS up" spoke_registered s1
  check "s2 ($k2) sees its NHS up" wait_for 30 "s2 NHS up" spoke_registered s2

  # 2. pings between LAN hosts (spoke-spoke first goes via the hub, and spoke-hub)
  check "ping LAN s1 -> LAN hub" ping_until s1 hub 30
  check "ping LAN s1 -> LAN s2" ping_until s1 s2 40
  check "ping LAN s2 -> LAN s1" ping_until s2 s1 40
  ping_hosts s1 s2 5 >/dev/null; ping_hosts s2 s1 5 >/dev/null

  # 3. the spoke-spoke path: phase 3 shortcut (both directions), phase 2 resolution
  if [ "$phase" = 3 ]; then
    check "s1 ($k1) has a shortcut to 172.16.2.0/24" wait_for 40 "s1 shortcut" shortcut_at s1 '172\.16\.2\.'
    check "s2 ($k2) has a shortcut to 172.16.1.0/24" wait_for 40 "s2 shortcut" shortcut_at s2 '172\.16\.1\.'
  fi
  if [ "$phase" = 2 ]; then
    check "s1 ($k1) resolved s2's NBMA address" wait_for 40 "s1 resolved s2" peer_known s1 s2
    check "s2 ($k2) resolved s1's NBMA address" wait_for 40 "s2 resolved s1" peer_known s2 s1
  fi
  check "s1 (${KIND[s1]}) forwards 172.16.2.10 on the shortcut, not via the hub" wait_for 20 "s1 route direct" route_direct s1 172.16.2.10
  check "s2 (${KIND[s2]}) forwards 172.16.1.10 on the shortcut, not via the hub" wait_for 20 "s2 route direct" route_direct s2 172.16.1.10
  ip -n s1 route get 172.16.2.10 > "$SOUT/s1_route_get.txt" 2>&1
  ip -n s2 route get 172.16.1.10 > "$SOUT/s2_route_get.txt" 2>&1
  # let pending resolutions finish: the shortcut/resolution is in place on both sides already
  ping_hosts s1 s2 3 >/dev/null; ping_hosts s2 s1 3 >/dev/null

  # 4. traffic bypasses the hub: 40 ICMP packets between the spoke LANs, hub port counters
  local p0 p1 ok1 ok2
  p0=$(hub_pkts)
  ping_hosts s1 s2 10; ok1=$?
  ping_hosts s2 s1 10; ok2=$?
  p1=$(hub_pkts)
  log "hub NBMA port packets: before=$p0 after=$p1 (40 ICMP packets exchanged spoke-spoke)"
  echo "hub port packets during 40 spoke-spoke ICMP packets: $((p1 - p0))" > "$SOUT/bypass.txt"
  check "spoke-spoke pings after resolution succeed" test "$ok1" = 0 -a "$ok2" = 0
  check "spoke-spoke traffic bypasses the hub ($((p1 - p0)) packets at the hub port, < 10)" test $((p1 - p0)) -lt 10

  # 5. the kernel's fallback GRE device must not take our traffic
  for n in hub s1 s2; do
    [ "${KIND[$n]}" = ours ] || continue
    local st; st=$(ip -n "$n" -o link show gre0 2>/dev/null | grep -o 'state [A-Z]*' || echo "absent")
    echo "$n gre0: $st rx=$(gre0_rx "$n"); Tunnel0 rx=$(tun_rx "$n")" >> "$SOUT/gre0.txt"
    check "$n (ours): gre0 stays down and received nothing, Tunnel0 got the traffic" \
      test "$(gre0_rx "$n")" = 0 -a "$(tun_rx "$n")" -gt 0
  done
  for n in hub s1 s2; do show_node "$n" after-traffic; [ "${KIND[$n]}" = ours ] && show_json "$n" nhrp show ip nhrp; done

  # 6. authentication mismatch on one spoke, then recovery
  if [ -n "$mism" ]; then mismatch "$mism" "$phase" "$hold" "$auth" "$key" "$uniq"; fi
  # 7. registration refresh and expiry (short holdtime)
  if [ "$expiry" = yes ]; then expiry_test "$hold"; fi

  for n in hub s1 s2; do [ "${KIND[$n]}" = ours ] && show_json "$n" traffic show ip nhrp traffic; done
  [ "${KIND[hub]}" = frr ] && nodex hub $IPT -L FORWARD -v -n > "$SOUT/hub_iptables.txt" 2>&1
  nodes_down
  echo "$name end $(date +%s.%N)" >> "$LAB_OUT/times.txt"
  for n in hub s1 s2; do cp /var/log/frr/$n-*.log "$SOUT/" 2>/dev/null; cp -r "/etc/frr/$n" "$SOUT/conf-$n-frr" 2>/dev/null; done
  rm -f /var/log/frr/*.log; rm -rf /etc/frr/hub /etc/frr/s1 /etc/frr/s2
  log "scenario $name took $(( $(date +%s) - t_start )) s"
}

restart_with_auth() { # restart_with_auth NODE AUTH PHASE HOLD KEY UNIQUE
  local n=$1 a=$2 phase=$3 hold=$4 key=$5 uniq=$6
  local other=s2; [ "$n" = s2 ] && other=s1
  if [ "${KIND[$n]}" = frr ]; then
    frr_stop_daemon "$n" nhrpd
    frr_config "$n" spoke "$phase" "$hold" "$a" "$uniq" "$other"
    nodex "$n" /usr/lib/frr/nhrpd -d -N "$n" -P 0 -f "/etc/frr/$n/nhrpd.conf" -i "/var/run/frr/$n/nhrpd.pid" \
      --log "file:/var/log/frr/$n-nhrpd.log" >> "$SOUT/daemon-start.log" 2>&1
  else
    node_stop "$n"
    ours_config "$n" spoke "$phase" "$hold" "$a" "$key" "$other"
    ours_start "$n"
  fi
}
ei_sent_by_hub() { # did the hub send an Error Indication (authentication failure)?
  if [ "${KIND[hub]}" = frr ]; then
    grep -qiE 'error.?ind|Send Error' /var/log/frr/hub-nhrpd.log 2>/dev/null
  else
    ctl hub show ip nhrp traffic 2>/dev/null | sed -n '/Sent:/,/Rcvd:/p' | grep -Eq '[1-9][0-9]* Error Indication'
  fi
}
mismatch() {
  local s=$1 phase=$2 hold=$3 auth=$4 key=$5 uniq=$6
  log "--- authentication mismatch on $s (${KIND[$s]})"
  restart_with_auth "$s" "wrong${auth:0:3}" "$phase" "$hold" "$key" "$uniq"
  check "mismatch: hub (${KIND[hub]}) sends an Error Indication to $s" wait_for 60 "hub EI" ei_sent_by_hub
  check "mismatch: $s (${KIND[$s]}) does not see its NHS up" not spoke_registered "$s"
  show_node hub mismatch; show_node "$s" mismatch
  [ "${KIND[hub]}" = ours ] && show_json hub traffic-mismatch show ip nhrp traffic
  [ "${KIND[$s]}" = ours ] && show_json "$s" traffic-mismatch show ip nhrp traffic
  log "--- key fixed on $s"
  restart_with_auth "$s" "$auth" "$phase" "$hold" "$key" "$uniq"
  check "recovery: $s registers again with the right key" wait_for 90 "$s NHS up again" spoke_registered "$s"
  check "recovery: hub lists $s" wait_for 30 "hub lists $s" hub_lists hub "$s"
  local o=s1; [ "$s" = s1 ] && o=s2
  check "recovery: ping LAN $s -> LAN $o" ping_until "$s" "$o" 40
}
reg_count_ours() { ctl hub show ip nhrp traffic 2>/dev/null | sed -n '/Rcvd:/,$p' | grep -Eo '[0-9]+ Registration Request' | grep -Eo '^[0-9]+'; }
expiry_test() {
  local hold=$1
  log "--- refresh and expiry (holdtime $hold s)"
  # refresh: the hub keeps listing both spokes past one holdtime
  local until=$(( $(date +%s) + hold + 5 ))
  wait_for $((hold + 10)) "one holdtime passes" sh -c "[ \$(date +%s) -ge $until ]"
  check "refresh: hub still lists s1 after one holdtime" hub_lists hub s1
  check "refresh: hub still lists s2 after one holdtime" hub_lists hub s2
  show_node hub refreshed
  # expiry: crash both spokes (no purge), the hub drops them within a holdtime
  local s
  for s in s1 s2; do
    if [ "${KIND[$s]}" = frr ]; then
      p=$(cat "/run/lab-nodes/$s/frr/$s/nhrpd.pid" 2>/dev/null); [ -n "$p" ] && kill -KILL "$p"
    else node_stop "$s" KILL; fi
  done
  check "expiry: hub drops s1 within holdtime + 15 s" wait_for $((hold + 15)) "s1 expires at hub" not hub_lists hub s1
  check "expiry: hub drops s2 within holdtime + 15 s" wait_for 15 "s2 expires at hub" not hub_lists hub s2
  show_node hub expired
}

#        name             hub  s1   s2   ph auth     key hold unique    mismatch expiry
scenario 1-ourhub-p3      ours frr  frr  3  ""       ""  600  unique    ""       no
scenario 2-frrhub-p3      frr  ours ours 3  ""       ""  600  unique    ""       no
scenario 3-frrhub-mixed   frr  frr  ours 3  ""       ""  600  unique    ""       no
scenario 4-ourhub-mixed   ours frr  ours 3  ""       ""  600  unique    ""       no
scenario 1-ourhub-p2      ours frr  frr  2  ""       ""  600  unique    ""       no
scenario 2-frrhub-p2      frr  ours ours 2  ""       ""  600  unique    ""       no
scenario 5-auth-1         ours frr  frr  3  secret1  ""  600  unique    s2       no
scenario 5-auth-2         frr  ours ours 3  secret1  ""  600  unique    s2       no
scenario 5-auth-3         frr  frr  ours 3  secret1  ""  600  unique    s2       no
scenario 5-auth-4         ours frr  ours 3  secret1  ""  600  unique    s1       no
scenario 6-key-ourhub     ours frr  ours 3  ""       42  30   no-unique ""       yes
scenario 6-key-frrhub     frr  frr  ours 3  ""       42  30   no-unique ""       yes
capture_stop
log "matrix done: $TOTAL_FAILS failed check(s)"
exit $(( TOTAL_FAILS > 0 ))
