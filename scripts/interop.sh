#!/bin/bash
# Interop matrix against FRR nhrpd on a real Linux kernel (issue 6).
#
# usage: scripts/interop.sh [-o OUTDIR] [-t VM_TIMEOUT_S] [scenario ...]
#   Builds our release binary if needed, prepares the kernel lab (../shared/kernel-lab, its
#   setup.sh is idempotent), boots the VM ONCE and runs tests/interop/matrix.sh in it (every
#   scenario, or only the named ones), then compares every NHRP packet of every capture as
#   decoded by tshark and by `dmvpn decode --json` (tests/interop/compare_decode.py).
#   Results: OUTDIR/RESULTS.txt (PASS/FAIL/NOTE per check), OUTDIR/<scenario>/ (capture,
#   show outputs, configs, logs, decode comparison). Exit status 0 only if every check passed.
# Needs root (qemu, the lab set-up). Default OUTDIR: target/interop under the repository.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LAB=${KERNEL_LAB:-$REPO/../shared/kernel-lab}
OUT=$REPO/target/interop
VM_TIMEOUT=1500
while getopts "o:t:h" o; do
  case $o in o) OUT=$OPTARG ;; t) VM_TIMEOUT=$OPTARG ;; *) sed -n '2,12p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
ONLY="$*"
[ -x "$LAB/run-lab.sh" ] || { echo "interop: no kernel lab at $LAB (set KERNEL_LAB)" >&2; exit 2; }

# 1. our binary (release; the VM sees this machine's files at the same paths)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
DMVPN=$TARGET/release/dmvpn
echo "[interop] building dmvpn (release) into $TARGET" >&2
(cd "$REPO" && cargo build --release -p dmvpn --quiet)
[ -x "$DMVPN" ] || { echo "interop: no binary at $DMVPN" >&2; exit 2; }
DMVPN=$(readlink -f "$DMVPN")

# 2. the lab (qemu, kernel, FRR, tshark)
"$LAB/setup.sh" >&2

# 3. one VM boot, the whole matrix
rm -rf "$OUT"; mkdir -p "$OUT"; OUT=$(readlink -f "$OUT")
set +e
"$LAB/run-lab.sh" -m 2048 -c 2 -t "$VM_TIMEOUT" -o "$OUT" -n matrix \
  -e DMVPN="$DMVPN" -e ONLY="$ONLY" "$REPO/tests/interop/matrix.sh"
vm_rc=$?
set -e
[ -f "$OUT/RESULTS.txt" ] || { echo "interop: the VM produced no results (rc $vm_rc); see $OUT/matrix.console.log" >&2; exit 1; }
[ "$vm_rc" = 0 ] || [ "$vm_rc" = 1 ] || echo "FAIL  vm  matrix scenario exited with $vm_rc (124 = timed out)" >> "$OUT/RESULTS.txt"

# 4. host-side checks: every NHRP packet decodes identically in tshark and dmvpn decode.
# The VM captured the internet bridge in one file; cut it per scenario by the recorded times.
if [ -f "$OUT/all.pcapng" ] && [ -f "$OUT/times.txt" ]; then
  while read -r s what t; do
    [ "$what" = start ] && start=$t
    [ "$what" = end ] && [ -d "$OUT/$s" ] && editcap -A "$start" -B "$t" "$OUT/all.pcapng" "$OUT/$s/capture.pcapng"
  done < "$OUT/times.txt"
  # bypass windows (40 ICMP packets between the spoke LANs after the shortcut/resolution):
  # count the echo packets the hub's NBMA address sent or received in that window
  while read -r s what a b via_hub; do
    [ "$what" = bypass ] && [ "$via_hub" = no ] || continue
    n=$(tshark -r "$OUT/all.pcapng" -Y "frame.time_epoch >= $a && frame.time_epoch <= $b && gre && ip.addr == 192.0.2.1 && (icmp.type == 8 || icmp.type == 0) && !(icmp.type == 3) && ip.addr == 172.16.1.10 && ip.addr == 172.16.2.10" 2>/dev/null | wc -l)
    m=$(tshark -r "$OUT/all.pcapng" -Y "frame.time_epoch >= $a && frame.time_epoch <= $b && gre && ip.addr == 192.0.2.11 && ip.addr == 192.0.2.12 && icmp.type == 8" 2>/dev/null | wc -l)
    if [ "$n" = 0 ] && [ "$m" -ge 20 ]; then r=PASS; else r=FAIL; fi
    echo "$r  $s  capture: in the bypass window the hub relayed $n spoke-spoke echo packets (want 0), $m echo requests went spoke to spoke (want >= 20)" >> "$OUT/RESULTS.txt"
  done < "$OUT/times.txt"
else
  echo "FAIL  vm  no capture of the internet bridge came back" >> "$OUT/RESULTS.txt"
fi
for d in "$OUT"/*/; do
  [ -f "$d/capture.pcapng" ] || continue
  s=$(basename "$d")
  if grep -q '^ipsec=' "$d/SCENARIO.txt" 2>/dev/null; then
    # IPsec: no cleartext GRE at all in the scenario's window; with both sides' keys (our key
    # logs, strongSwan's `ip xfrm state`), tshark decrypts the ESP and finds NHRP inside.
    n=$(tshark -r "$d/capture.pcapng" -Y gre 2>/dev/null | wc -l)
    e=$(tshark -r "$d/capture.pcapng" -Y esp 2>/dev/null | wc -l)
    if [ "$n" = 0 ] && [ "$e" -gt 0 ]; then r=PASS; else r=FAIL; fi
    echo "$r  $s  ipsec capture: $n cleartext GRE packets (want 0), $e ESP packets" >> "$OUT/RESULTS.txt"
    opts=()
    for k in "$d"/*_esp_keys.txt; do
      [ -f "$k" ] || continue
      while read -r l; do [ -n "$l" ] && opts+=(-o "uat:esp_sa:$l"); done < "$k"
    done
    if ls "$d"/*_xfrm_state.txt >/dev/null 2>&1; then
      mapfile -t x < <(python3 "$LAB/lib/esp-keys-to-tshark.py" "$d"/*_xfrm_state.txt 2>/dev/null)
      opts+=("${x[@]}")
    fi
    m=$(tshark -r "$d/capture.pcapng" -o esp.enable_encryption_decode:TRUE "${opts[@]}" -Y nhrp 2>/dev/null | wc -l)
    if [ "$m" -gt 0 ]; then r=PASS; else r=FAIL; fi
    echo "$r  $s  ipsec capture decrypted with both sides' keys: $m NHRP packets inside ESP" >> "$OUT/RESULTS.txt"
    continue
  fi
  if python3 "$REPO/tests/interop/compare_decode.py" "$DMVPN" "$d/capture.pcapng" > "$d/decode-compare.txt" 2>&1; then
    echo "PASS  $s  $(tail -1 "$d/decode-compare.txt")" >> "$OUT/RESULTS.txt"
  else
    echo "FAIL  $s  $(tail -1 "$d/decode-compare.txt")" >> "$OUT/RESULTS.txt"
  fi
  tshark -r "$d/capture.pcapng" -Y nhrp -o nhrp.auth_ext_has_addr:FALSE > "$d/tshark-summary.txt" 2>&1 || true
  # the kernel of a node of ours must not answer GRE with ICMP errors (ip_gre is loaded in the
  # VM for FRR, and it rejects GRE that no kernel tunnel claims with "port unreachable")
  for node in hub s1 s2; do
    grep -q "$node=ours" "$d/SCENARIO.txt" 2>/dev/null || continue
    case $node in hub) a=192.0.2.1 ;; s1) a=192.0.2.11 ;; s2) a=192.0.2.12 ;; esac
    n=$(tshark -r "$d/capture.pcapng" -Y "icmp.type == 3 && ip.src == $a && ip.proto == 47" 2>/dev/null | wc -l)
    if [ "$n" = 0 ]; then r=PASS; else r=FAIL; fi
    echo "$r  $s  $node (ours) sent no ICMP errors in reply to GRE ($n ICMP destination-unreachable seen)" >> "$OUT/RESULTS.txt"
  done
done

sort -s -k2,2 "$OUT/RESULTS.txt" > "$OUT/RESULTS.sorted.txt"
cat "$OUT/RESULTS.sorted.txt"
pass=$(grep -c '^PASS' "$OUT/RESULTS.txt" || true); fail=$(grep -c '^FAIL' "$OUT/RESULTS.txt" || true)
echo "[interop] $pass passed, $fail failed; results in $OUT" >&2
[ "$fail" = 0 ]
