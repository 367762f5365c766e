#!/bin/bash
# IPsec for the interop matrix (issue 13), sourced by tests/interop/matrix.sh INSIDE the VM.
#
# A scenario with a cipher (gcm|cbc) protects every tunnel:
#   - our nodes get an IKEv2 profile in IOS-XE words (PSK, proposal, transform-set, transport
#     mode, `tunnel protection ipsec profile`) and write their ESP keys to a key log;
#   - FRR nodes get their own unpatched strongSwan charon (own mount namespace, own vici
#     socket), IKEv2 PSK, transport mode, `dynamic[gre]` traffic selectors and
#     `start_action = trap`: GRE to any peer makes the kernel ask charon for an SA (the
#     kernel lab's `frr-dmvpn.sh trap` approach, which needs no FRR configuration).
# Checks, on both sides: our `show crypto ikev2 sa` / `show crypto ipsec sa` and strongSwan's
# `swanctl --list-sas` show the SAs with every peer that talked; after the scenario the host
# counts cleartext GRE in its capture window (must be 0) and decrypts the ESP with both
# sides' keys (our key logs, strongSwan's `ip xfrm state`) to find the NHRP inside.
set -u
PSK=interop-psk-47
declare -A CHARON=()

# swan_conf NODE CIPHER : strongswan.conf and swanctl.conf for an FRR node
swan_conf() {
  local n=$1 cipher=$2 d=$W/ipsec-$n ike esp
  mkdir -p "$d"
  if [ "$cipher" = cbc ]; then ike=aes256-sha256-ecp256; esp=aes256-sha256
  else ike=aes256gcm16-prfsha256-ecp256; esp=aes256gcm16; fi
  # minimal plugin list: Debian's default set runs crypto self-tests, very slow under TCG
  cat > "$d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce openssl pem pkcs1 pubkey x509 curve25519 kdf hmac sha2 aes gcm kernel-netlink socket-default vici updown
  install_routes = no
  retransmit_timeout = 2.0
  retransmit_tries = 4
  filelog {
    node {
      path = /var/log/charon-$n.log
      time_format = %H:%M:%S
      default = 1
      ike = 2
      knl = 1
      cfg = 1
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
swanctl {
  load = random openssl pem pkcs1 x509 pubkey
}
EOF
  cat > "$d/swanctl.conf" <<EOF
connections {
  dmvpn {
    version = 2
    local_addrs = ${NBMA[$n]}
    remote_addrs = %any
    proposals = $ike
    mobike = no
    encap = no
    dpd_delay = 10s
    local {
      auth = psk
    }
    remote {
      auth = psk
    }
    children {
      dmvpn {
        mode = transport
        local_ts = dynamic[gre]
        remote_ts = dynamic[gre]
        esp_proposals = $esp
        start_action = trap
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-dmvpn {
    secret = "$PSK"
  }
}
EOF
}

swanctl_n() { local n=$1; shift; nodex "$n" env STRONGSWAN_CONF="$W/ipsec-$n/strongswan.conf" swanctl "$@"; }

swan_start() { # swan_start NODE CIPHER
  local n=$1 cipher=$2
  swan_conf "$n" "$cipher"
  rm -f "/run/lab-nodes/$n/charon.vici"
  nsenter --mount="/run/lab-mnt/$n" --net="/run/netns/$n" -- env STRONGSWAN_CONF="$W/ipsec-$n/strongswan.conf" \
    /usr/lib/ipsec/charon > "$SOUT/charon-$n.stdout" 2>&1 &
  CHARON[$n]=$!
  wait_for 90 "charon vici socket in $n" nodex "$n" test -S /run/charon.vici
  swanctl_n "$n" --load-all --file "$W/ipsec-$n/swanctl.conf" >> "$SOUT/swanctl-$n.txt" 2>&1
}

swan_stop() { # swan_stop NODE
  local n=$1 p=${CHARON[$1]:-}
  [ -n "$p" ] || return 0
  nodex "$n" ip xfrm state > "$SOUT/${n}_xfrm_state.txt" 2>&1
  kill "$p" 2>/dev/null
  wait_for 20 "charon of $n exits" sh -c "! kill -0 $p 2>/dev/null" >/dev/null || kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  cp "/var/log/charon-$n.log" "$SOUT/" 2>/dev/null; rm -f "/var/log/charon-$n.log"
  nodex "$n" ip xfrm state flush; nodex "$n" ip xfrm policy flush
  unset "CHARON[$n]"
}

# ours_protect NODE CIPHER : adds the IKEv2 profile and tunnel protection to our node's config
ours_protect() {
  local n=$1 cipher=$2 f=$W/$n/dmvpn.conf prop ts
  if [ "$cipher" = cbc ]; then
    prop=$' encryption aes-cbc-256\n integrity sha256\n prf sha256\n group 19'
    ts="esp-aes 256 esp-sha256-hmac"
  else
    prop=$' encryption aes-gcm-256\n prf sha256\n group 19'
    ts="esp-gcm 256"
  fi
  {
    echo "crypto ikev2 proposal p1"
    echo "$prop"
    echo "crypto ikev2 policy pol1"
    echo " proposal p1"
    echo "crypto ikev2 keyring keys"
    echo " peer ANY"
    echo "  address 0.0.0.0 0.0.0.0"
    echo "  pre-shared-key $PSK"
    echo "crypto ikev2 profile ike1"
    echo " match identity remote address 0.0.0.0"
    echo " authentication local pre-share"
    echo " authentication remote pre-share"
    echo " keyring local keys"
    echo " dpd 10 3 periodic"
    echo "crypto ipsec transform-set ts1 $ts"
    echo " mode transport"
    echo "crypto ipsec profile prof1"
    echo " set transform-set ts1"
    echo " set ikev2-profile ike1"
    echo "!"
    sed 's/^ tunnel mode gre multipoint$/ tunnel mode gre multipoint\n tunnel protection ipsec profile prof1/' "$f"
  } > "$f.new" && mv "$f.new" "$f"
}

# ipsec_prepare NODE CIPHER : before the node's daemons start
ipsec_prepare() {
  local n=$1 cipher=$2
  if [ "${KIND[$n]}" = frr ]; then swan_start "$n" "$cipher"
  else ours_protect "$n" "$cipher"; OURS_KEYLOG=1; fi
}

# sa_ours NODE PEER : our node has a READY IKE SA and an active Child SA pair with PEER
sa_ours() {
  local n=$1 p=$2
  ctl "$n" show crypto ikev2 sa 2>/dev/null | grep -E "${NBMA[$p]//./\\.}/500 .*READY" -q &&
    ctl "$n" show crypto ipsec sa peer "${NBMA[$p]}" 2>/dev/null | grep -q "Status: ACTIVE"
}
# sa_swan NODE PEER : strongSwan has an ESTABLISHED IKE SA and an INSTALLED child with PEER
sa_swan() {
  local n=$1 p=$2 out
  out=$(swanctl_n "$n" --list-sas 2>/dev/null)
  # "NAME: #N, ESTABLISHED, …" then "  local  'ID' @ IP[PORT]" and "  remote 'ID' @ IP[PORT]"
  grep -A2 "ESTABLISHED" <<< "$out" | grep -Eq "remote .* @ ${NBMA[$p]//./\.}\[" &&
    grep -q "INSTALLED" <<< "$out"
}
sa_at() { if [ "${KIND[$1]}" = frr ]; then sa_swan "$@"; else sa_ours "$@"; fi; }

# ipsec_checks : SAs on both ends of every pair that talked (hub-spoke both, spoke-spoke)
ipsec_checks() {
  local a b
  for a in s1 s2; do
    check "ipsec: hub (${KIND[hub]}) has SAs with $a" wait_for 60 "hub SAs with $a" sa_at hub "$a"
    check "ipsec: $a (${KIND[$a]}) has SAs with the hub" wait_for 60 "$a SAs with hub" sa_at "$a" hub
  done
  check "ipsec: s1 (${KIND[s1]}) has SAs with s2 (shortcut)" wait_for 60 "s1 SAs with s2" sa_at s1 s2
  check "ipsec: s2 (${KIND[s2]}) has SAs with s1 (shortcut)" wait_for 60 "s2 SAs with s1" sa_at s2 s1
  for a in hub s1 s2; do
    if [ "${KIND[$a]}" = frr ]; then swanctl_n "$a" --list-sas > "$SOUT/${a}_swanctl_sas.txt" 2>&1
    else
      ctl "$a" show crypto ikev2 sa detail > "$SOUT/${a}_ikev2_sa.txt" 2>&1
      ctl "$a" show crypto ipsec sa > "$SOUT/${a}_ipsec_sa.txt" 2>&1
    fi
  done
  echo "$SCEN ipsec" >> "$LAB_OUT/ipsec-scenarios.txt"
}

# ipsec_down : stops every charon; our key logs stay in SOUT for the host's decryption
ipsec_down() {
  local n
  for n in hub s1 s2; do
    swan_stop "$n"
    [ -f "$W/$n/esp-keys.txt" ] && cp "$W/$n/esp-keys.txt" "$SOUT/${n}_esp_keys.txt" && rm -f "$W/$n/esp-keys.txt"
  done
  OURS_KEYLOG=""
}
