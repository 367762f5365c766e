#!/bin/bash
# Interop harness library, sourced by tests/interop/matrix.sh INSIDE the kernel-lab VM.
#
# Topology (one network namespace per router, one per LAN host, one "internet"):
#   ns inet : bridge br0 = the NBMA network 192.0.2.0/24 (captured by dumpcap, one file per scenario)
#   router N (hub, s1, s2): eth0 = NBMA address on br0, lan0 = LAN gateway, a tunnel:
#     kind "frr" : kernel multipoint GRE gre1 + FRR zebra/staticd/nhrpd (pathspace -N N)
#     kind "ours": `dmvpn daemon` (TUN Tunnel0 + raw GRE socket), no kernel GRE device in use
#   LAN host hN (h0, h1, h2): eth0 172.16.I.10/24, default route via the router's lan0 172.16.I.1
# Every router also has a private mount namespace (own /run) so FRR instances do not collide.
#
# Functions: lab_init, node_up/nodes_down, frr_start/ours_start, node_stop, check/wait_for,
# show helpers (show_frr, show_ours), capture_start/capture_stop, counters.
set -u
declare -A IDX=([hub]=0 [s1]=1 [s2]=2)
declare -A NBMA=([hub]=192.0.2.1 [s1]=192.0.2.11 [s2]=192.0.2.12)
declare -A TUN=([hub]=10.255.0.1 [s1]=10.255.0.11 [s2]=10.255.0.12)
declare -A LANGW=([hub]=172.16.0.1 [s1]=172.16.1.1 [s2]=172.16.2.1)
declare -A HOST=([hub]=172.16.0.10 [s1]=172.16.1.10 [s2]=172.16.2.10)
declare -A KIND=()          # node -> frr|ours for the current scenario
declare -A OURPID=()        # node -> pid of our daemon
W=/tmp/interop               # in-VM scratch (overlay tmpfs, discarded at power-off)
T0=$(date +%s.%N)
ts() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%6.1f", b-a}'; }
log() { echo "[$(ts)s] $*"; }

# ---- results -------------------------------------------------------------------------------
SCEN=""                      # current scenario name
SOUT=""                      # its output folder
TOTAL_FAILS=0
check() { # check "description" cmd...   records PASS/FAIL for the current scenario
  local d=$1; shift
  if "$@"; then echo "PASS  $SCEN  $d" >> "$LAB_OUT/RESULTS.txt"; log "PASS: $d"; return 0
  else echo "FAIL  $SCEN  $d" >> "$LAB_OUT/RESULTS.txt"; log "FAIL: $d"; TOTAL_FAILS=$((TOTAL_FAILS+1)); return 1; fi
}
note() { echo "NOTE  $SCEN  $*" >> "$LAB_OUT/RESULTS.txt"; log "NOTE: $*"; }
wait_for() { # wait_for TIMEOUT "desc" cmd...   (polls every 0.5 s)
  local t=$1 d=$2; shift 2
  local end=$(( $(date +%s) + t ))
  while [ "$(date +%s)" -lt "$end" ]; do "$@" && { log "ok: $d"; return 0; }; sleep 0.5; done
  log "timeout ($t s) waiting for: $d"; return 1
}

# ---- running things in a node --------------------------------------------------------------
nodex() { local n=$1; shift; timeout 60 nsenter --mount="/run/lab-mnt/$n" --net="/run/netns/$n" -- "$@"; }
vty() { local n=$1; shift; nodex "$n" vtysh -N "$n" "$@"; }
ctl() { local n=$1; shift; nodex "$n" "$DMVPN" --socket "$W/$n/dmvpn.sock" "$@"; }
# show NODE: saves the node's state (FRR or ours) into SOUT/NODE_show.txt; prints it too
show_node() {
  local n=$1 tag=${2:-}
  {
    echo "===== [$n ${KIND[$n]}] $tag at $(ts)s"
    if [ "${KIND[$n]}" = frr ]; then
      vty "$n" -c "show ip nhrp cache" -c "show ip nhrp nhs" -c "show ip nhrp shortcut" -c "show dmvpn" -c "show ip route" 2>&1
      echo "--- gre1 stats"; ip -n "$n" -s link show gre1 2>&1
    else
      for c in "show dmvpn" "show ip nhrp" "show ip nhrp nhs" "show ip nhrp shortcut" "show ip nhrp traffic"; do
        echo "--- dmvpn $c"; ctl "$n" $c 2>&1
      done
      echo "--- kernel routes"; ip -n "$n" route 2>&1
      echo "--- links"; ip -n "$n" -s link 2>&1
    fi
  } >> "$SOUT/${n}_show.txt"
}
show_json() { # show_json NODE NAME "show ..." : our JSON outputs into SOUT
  local n=$1 name=$2; shift 2
  ctl "$n" "$@" --json > "$SOUT/${n}_${name}.json" 2>&1
}

# ---- topology --------------------------------------------------------------------------------
lab_init() {
  log "=== modules"
  for m in ip_gre tun bridge veth nfnetlink_log xt_NFLOG xt_hashlimit; do modprobe "$m" || log "modprobe $m failed"; done
  mkdir -p /run/lab-mnt "$W" && mount -t tmpfs -o size=1m tmpfs /run/lab-mnt && mount --make-private /run/lab-mnt
  ip netns add inet
  ip netns exec inet sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n inet link set lo up
  ip -n inet link add br0 type bridge stp_state 0 forward_delay 0
  ip -n inet link set br0 up promisc on
  mkdir -p /var/log/frr; chown frr:frr /var/log/frr
  IPT=iptables
  iptables -L -n >/dev/null 2>&1 || IPT=iptables-legacy
}

# nodes_create: every router and LAN host namespace, once per VM boot (scenarios only change the
# tunnel part, see tunnel_up/tunnel_down)
nodes_create() {
  local n i
  for n in hub s1 s2; do
    i=${IDX[$n]}
    mkdir -p "/run/lab-nodes/$n/frr/$n" "$W/$n"; chown -R frr:frr "/run/lab-nodes/$n/frr"
    ip netns add "$n"; ip netns add "h$i"
    touch "/run/lab-mnt/$n"
    unshare --mount="/run/lab-mnt/$n" --propagation private nsenter --net="/run/netns/$n" -- \
      sh -c "umount -l /sys && mount -t sysfs sysfs /sys && mount --bind /run/lab-nodes/$n /run" \
      || log "mount namespace for $n failed"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
      net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip link add "i-$n" netns inet type veth peer name eth0 netns "$n"
    ip link add lan0 netns "$n" type veth peer name eth0 netns "h$i"
    ip -n inet link set "i-$n" master br0 up
    printf '%s\n' "link set lo up" "addr add ${NBMA[$n]}/24 dev eth0" "link set eth0 up" \
      "addr add ${LANGW[$n]}/24 dev lan0" "link set lan0 up" | ip -n "$n" -b -
    printf '%s\n' "link set lo up" "addr add ${HOST[$n]}/24 dev eth0" "link set eth0 up" \
      "route add default via ${LANGW[$n]}" | ip -n "h$i" -b -
  done
}

# tunnel_up NODE KIND [GREKEY]: FRR nodes get the kernel mGRE device gre1; our nodes none
tunnel_up() {
  local n=$1 kind=$2 key=${3:-}
  KIND[$n]=$kind
  if [ "$kind" = frr ]; then
    local k=""; [ -n "$key" ] && k="key $key"
    printf '%s\n' "tunnel add gre1 mode gre $k ttl 64 dev eth0 local ${NBMA[$n]} remote 0.0.0.0" \
      "addr add ${TUN[$n]}/32 dev gre1" "link set gre1 up" | ip -n "$n" -b -
  else
    # ip_gre's per-namespace fallback device gre0 exists in every namespace; keep it down so
    # the kernel never claims our GRE (our raw socket gets every GRE packet either way)
    ip -n "$n" link set gre0 down 2>/dev/null
  fi
}
# tunnel_down NODE: stops the node's daemons and removes what the scenario added
tunnel_down() {
  local n=$1
  node_stop "$n"
  ip -n "$n" tunnel del gre1 2>/dev/null
  nodex "$n" $IPT -F FORWARD 2>/dev/null
  ip -n "$n" neigh flush all 2>/dev/null
  ip -n "$n" route flush cache 2>/dev/null
  rm -rf "/run/lab-nodes/$n/frr/$n/"*
  unset "KIND[$n]"
}
nodes_down() { local n; for n in hub s1 s2; do tunnel_down "$n"; done; }

# ---- FRR -------------------------------------------------------------------------------------
# frr_config NODE ROLE(hub|spoke) PHASE HOLD AUTH UNIQUE(unique|no-unique) OTHER-SPOKE
frr_config() {
  local n=$1 role=$2 phase=$3 hold=$4 auth=$5 uniq=$6 other=${7:-}
  local c=/etc/frr/$n; mkdir -p "$c"
  printf 'hostname %s\nip forwarding\ninterface gre1\n no link-detect\nexit\n' "$n" > "$c/zebra.conf"
  {
    echo "hostname $n"
    echo "log file /var/log/frr/$n-nhrpd.log debugging"
    echo "debug nhrp all"
    [ "$role" = hub ] && [ "$phase" = 3 ] && echo "nhrp nflog-group 1"
    echo "interface gre1"
    echo " ip nhrp network-id 1"
    echo " ip nhrp holdtime $hold"
    [ -n "$auth" ] && echo " ip nhrp authentication $auth"
    if [ "$role" = hub ]; then
      [ "$phase" = 3 ] && echo " ip nhrp redirect"
      echo " ip nhrp map multicast dynamic"
    else
      echo " ip nhrp nhs ${TUN[hub]} nbma ${NBMA[hub]}"
      [ "$phase" = 3 ] && echo " ip nhrp shortcut"
      [ "$uniq" = no-unique ] && echo " ip nhrp registration no-unique"
    fi
    echo " tunnel source eth0"
    echo "exit"
  } > "$c/nhrpd.conf"
  {
    echo "hostname $n"
    if [ "$role" = hub ]; then
      echo "ip route 172.16.1.0/24 ${TUN[s1]}"
      echo "ip route 172.16.2.0/24 ${TUN[s2]}"
    elif [ "$phase" = 3 ]; then
      echo "ip route 10.255.0.0/24 ${TUN[hub]}"
      echo "ip route 172.16.0.0/16 ${TUN[hub]}"
    else
      echo "ip route 10.255.0.0/24 ${TUN[hub]}"
      echo "ip route 172.16.0.0/24 ${TUN[hub]}"
      echo "ip route ${LANGW[$other]%.1}.0/24 ${TUN[$other]}"
    fi
  } > "$c/staticd.conf"
  : > "$c/vtysh.conf"
  chown -R frr:frr "$c"
}

frr_start() { # frr_start NODE
  local n=$1 d extra
  if [ "$(frr_role "$n")" = hub ] && grep -q nflog-group "/etc/frr/$n/nhrpd.conf"; then
    nodex "$n" $IPT -A FORWARD -i gre1 -o gre1 -m hashlimit --hashlimit-upto 4/minute --hashlimit-burst 1 \
      --hashlimit-mode srcip,dstip --hashlimit-srcmask 24 --hashlimit-dstmask 24 \
      --hashlimit-name loglimit-0 -j NFLOG --nflog-group 1 --nflog-size 128
  fi
  for d in zebra staticd nhrpd; do
    extra=""; [ $d = zebra ] && extra="-s 8388608"
    nodex "$n" /usr/lib/frr/$d -d -N "$n" -P 0 -f "/etc/frr/$n/$d.conf" -i "/var/run/frr/$n/$d.pid" \
      --log "file:/var/log/frr/$n-$d.log" $extra >> "$SOUT/daemon-start.log" 2>&1 || log "start $d in $n failed (rc=$?)"
  done
}
frr_role() { grep -q ' ip nhrp nhs ' "/etc/frr/$1/nhrpd.conf" 2>/dev/null && echo spoke || echo hub; }
frr_stop_daemon() { # frr_stop_daemon NODE DAEMON : SIGTERM and wait for exit
  local n=$1 d=$2 p
  p=$(cat "/run/lab-nodes/$n/frr/$n/$d.pid" 2>/dev/null) || return 0
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null
  wait_for 20 "$d of $n exits" sh -c "! kill -0 $p 2>/dev/null" >/dev/null
}

# ---- our daemon ------------------------------------------------------------------------------
# ours_config NODE ROLE PHASE HOLD AUTH KEY OTHER-SPOKE  -> $W/NODE/dmvpn.conf
ours_config() {
  local n=$1 role=$2 phase=$3 hold=$4 auth=$5 key=$6 other=${7:-}
  {
    echo "hostname $n"
    echo "!"
    echo "interface Tunnel0"
    echo " ip address ${TUN[$n]} 255.255.255.0"
    echo " ip mtu 1400"
    [ -n "$auth" ] && echo " ip nhrp authentication $auth"
    echo " ip nhrp network-id 1"
    echo " ip nhrp holdtime $hold"
    if [ "$role" = hub ]; then
      echo " ip nhrp map multicast dynamic"
      [ "$phase" = 3 ] && echo " ip nhrp redirect"
    else
      echo " ip nhrp nhs ${TUN[hub]} nbma ${NBMA[hub]}"
      [ "$phase" = 3 ] && echo " ip nhrp shortcut"
    fi
    echo " tunnel source eth0"
    echo " tunnel mode gre multipoint"
    [ -n "$key" ] && echo " tunnel key $key"
    echo "!"
    echo "interface eth0"
    echo " ip address ${NBMA[$n]} 255.255.255.0"
    echo "!"
    echo "interface lan0"
    echo " ip address ${LANGW[$n]} 255.255.255.0"
    echo "!"
    if [ "$role" = hub ]; then
      echo "ip route 172.16.1.0 255.255.255.0 ${TUN[s1]}"
      echo "ip route 172.16.2.0 255.255.255.0 ${TUN[s2]}"
    elif [ "$phase" = 3 ]; then
      echo "ip route 172.16.0.0 255.255.0.0 ${TUN[hub]}"
    else
      echo "ip route 172.16.0.0 255.255.255.0 ${TUN[hub]}"
      echo "ip route ${LANGW[$other]%.1}.0 255.255.255.0 ${TUN[$other]}"
    fi
    echo "!"
    echo "end"
  } > "$W/$n/dmvpn.conf"
}

ours_start() { # ours_start NODE : starts `dmvpn daemon` and waits for its control socket
  local n=$1
  rm -f "$W/$n/dmvpn.sock"
  cp "$W/$n/dmvpn.conf" "$SOUT/conf-$n-dmvpn.conf"
  nsenter --mount="/run/lab-mnt/$n" --net="/run/netns/$n" -- env RUST_LOG="${DMVPN_LOG:-info,dmvpn_nhrp=debug}" \
    "$DMVPN" --socket "$W/$n/dmvpn.sock" daemon --config "$W/$n/dmvpn.conf" ${OURS_KEYLOG:+--ipsec-keylog "$W/$n/esp-keys.txt"} >> "$SOUT/$n-dmvpn.log" 2>&1 &
  OURPID[$n]=$!
  wait_for 60 "dmvpn daemon of $n answers" ctl_ok "$n"
}
ctl_ok() { kill -0 "${OURPID[$1]}" 2>/dev/null && ctl "$1" show dmvpn >/dev/null 2>&1; }

node_stop() { # node_stop NODE [KILL]: stops whatever runs in the node
  local n=$1 sig=${2:-TERM} p
  if [ "${KIND[$n]:-}" = frr ]; then
    for d in nhrpd staticd zebra; do frr_stop_daemon "$n" "$d"; done
  elif [ -n "${OURPID[$n]:-}" ]; then
    p=${OURPID[$n]}
    kill -"$sig" "$p" 2>/dev/null
    wait_for 20 "dmvpn of $n exits" sh -c "! kill -0 $p 2>/dev/null" >/dev/null || kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset "OURPID[$n]"
  fi
}

# ---- capture ----------------------------------------------------------------------------------
# One dumpcap for the whole VM run (starting programs is slow under emulation); every scenario
# records its start and end time in $LAB_OUT/times.txt and the host cuts the capture with editcap.
capture_start() {
  ip netns exec inet timeout 3000 dumpcap -q -i br0 -w "$W/all.pcapng" > "$LAB_OUT/dumpcap.log" 2>&1 &
  DUMPCAP=$!
  wait_for 60 "dumpcap running" test -s "$W/all.pcapng"
}
capture_stop() {
  kill -INT "$DUMPCAP" 2>/dev/null; wait "$DUMPCAP" 2>/dev/null
  cp "$W/all.pcapng" "$LAB_OUT/all.pcapng"; chmod 644 "$LAB_OUT/all.pcapng"
}

# ---- observations ----------------------------------------------------------------------------
hub_pkts() { # packets through the hub's NBMA port (both directions), read on the bridge side
  local rx tx
  rx=$(ip netns exec inet cat /sys/class/net/i-hub/statistics/rx_packets)
  tx=$(ip netns exec inet cat /sys/class/net/i-hub/statistics/tx_packets)
  echo $((rx + tx))
}
# registered NODE_AT SPOKE : does NODE_AT (the hub) list SPOKE as a registered dynamic client?
hub_lists() {
  local at=$1 s=$2
  if [ "${KIND[$at]}" = frr ]; then
    vty "$at" -c "show ip nhrp cache" 2>/dev/null | grep -E "^[^ ]+ +dynamic +${TUN[$s]} +${NBMA[$s]}" -q
  else
    ctl "$at" show ip nhrp 2>/dev/null | grep -A2 "^${TUN[$s]}/32 " | grep -q "NBMA address: ${NBMA[$s]}"
  fi
}
# spoke_registered SPOKE : does the spoke itself see its NHS as up?
spoke_registered() {
  local s=$1
  if [ "${KIND[$s]}" = frr ]; then
    vty "$s" -c "show ip nhrp cache" 2>/dev/null | grep -E "^[^ ]+ +nhs +${TUN[hub]} +${NBMA[hub]}" -q
  else
    ctl "$s" show ip nhrp nhs 2>/dev/null | grep -Eq "${TUN[hub]//./\\.} +UP"
  fi
}
# shortcut_at SPOKE PREFIX_RE : the spoke has a shortcut matching PREFIX_RE (e.g. 172\.16\.2\.)
shortcut_at() {
  local s=$1 re=$2
  if [ "${KIND[$s]}" = frr ]; then
    vty "$s" -c "show ip nhrp shortcut" 2>/dev/null | grep -Eq "$re"
  else
    ctl "$s" show ip nhrp shortcut 2>/dev/null | grep -Eq "$re"
  fi
}
# route_direct SPOKE PREFIX NEXTHOP : the kernel routes PREFIX's hosts via NEXTHOP (not the hub)
# route_direct SPOKE DST : the spoke's forwarding for DST no longer goes via the hub.
# FRR installs the shortcut as a kernel route on gre1 (a device route whose neighbour entry
# holds the peer's NBMA address). Ours keeps it in the userspace data plane's table, which
# overrides the kernel's route via the hub: `show ip nhrp shortcut` lists it with the `rib` flag
# and `ip route get` still names the hub (see docs/interop.md).
route_direct() {
  local s=$1 dst=$2 r
  if [ "${KIND[$s]}" = frr ]; then
    r=$(ip -n "$s" route get "$dst" 2>/dev/null) || return 1
    ! grep -q "via ${TUN[hub]} " <<< "$r"
  else
    # phase 2: the kernel route names the other spoke; phase 3: the data plane's shortcut
    r=$(ip -n "$s" route get "$dst" 2>/dev/null) || return 1
    grep -q "via ${TUN[hub]} " <<< "$r" || return 0
    ctl "$s" show ip nhrp shortcut 2>/dev/null | grep -A1 "^${dst%.*}\.0/24 via " | grep -q "Flags:.* rib"
  fi
}
ping_hosts() { # ping_hosts FROM_NODE TO_NODE COUNT : LAN host to LAN host
  local a=$1 b=$2 c=${3:-3}
  ip netns exec "h${IDX[$a]}" ping -c "$c" -i 0.2 -W 3 "${HOST[$b]}" > "$SOUT/ping-$a-$b.txt" 2>&1
  local rc=$?
  cat "$SOUT/ping-$a-$b.txt" | tail -2
  return $rc
}
ping_until() { # ping_until FROM TO TIMEOUT : one ping at a time until one answers
  local a=$1 b=$2 t=$3
  wait_for "$t" "first ping h${IDX[$a]} -> h${IDX[$b]}" ip netns exec "h${IDX[$a]}" ping -c 1 -W 2 "${HOST[$b]}" >/dev/null
}
# tun_rx NODE : packets our data plane decapsulated and wrote into the TUN device
tun_rx() { ip netns exec "$1" cat /sys/class/net/Tunnel0/statistics/rx_packets 2>/dev/null || echo 0; }
gre0_rx() { ip netns exec "$1" cat /sys/class/net/gre0/statistics/rx_packets 2>/dev/null || echo 0; }
not() { ! "$@"; }
# peer_known AT PEER : AT has a cache entry mapping PEER's tunnel address to its NBMA address
peer_known() {
  local at=$1 p=$2
  if [ "${KIND[$at]}" = frr ]; then
    vty "$at" -c "show ip nhrp cache" 2>/dev/null | grep -E " ${TUN[$p]//./\\.} +${NBMA[$p]//./\\.} " | grep -vq incomplete
  else
    ctl "$at" show ip nhrp 2>/dev/null | grep -A2 "^${TUN[$p]}/32 " | grep -q "NBMA address: ${NBMA[$p]}"
  fi
}
