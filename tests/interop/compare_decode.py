#!/usr/bin/env python3
"""Compares every NHRP packet of a capture as decoded by tshark and by `dmvpn decode --json`.

usage: compare_decode.py DMVPN_BINARY CAPTURE

For every frame that tshark dissects as NHRP (excluding NHRP quoted inside ICMP errors; a Traffic Indication may embed an ICMP echo), the
fixed header, the mandatory part (addresses, request id, error code/offset), the CIE lists
(mandatory part and CIE-carrying extensions, in order), the extension list (type, C bit,
length) and the authentication extension (SPI, data) must be equal in both decodes. Error
Indications are compared on their own header only (tshark dissects the quoted packet too).
Prints one line per mismatch, then a summary line; exit status 1 on any mismatch.
"""
import json
import subprocess
import sys

HEADER = [  # (tshark field, dmvpn key)
    ("nhrp.hdr.afn", "afn"), ("nhrp.hdr.pro.type", "protocol_type"),
    ("nhrp.hdr.hopcnt", "hop_count"), ("nhrp.hdr.pktsz", "packet_size"),
    ("nhrp.hdr.chksum", "checksum"), ("nhrp.hdr.extoff", "extension_offset"),
    ("nhrp.hdr.version", "version"), ("nhrp.hdr.op.type", "type_code"),
    ("nhrp.hdr.shtl", "shtl"), ("nhrp.hdr.sstl", "sstl"),
    ("nhrp.src.prot.len", "src_proto_len"), ("nhrp.dst.prot.len", "dst_proto_len"),
    ("nhrp.flags", "flags"), ("nhrp.src.nbma.addr", "src_nbma"),
    ("nhrp.src.prot.addr", "src_proto"), ("nhrp.dst.prot.addr", "dst_proto"),
]
REQID = ("nhrp.reqid", "request_id")
ERR = [("nhrp.err.code", "error_code"), ("nhrp.err.offset", "error_offset")]
CIE = [("nhrp.code", "code"), ("nhrp.prefix", "prefix_length"), ("nhrp.mtu", "mtu"),
       ("nhrp.htime", "holding_time"), ("nhrp.client.nbma.addr", "client_nbma"),
       ("nhrp.client.prot.addr", "client_proto")]
EXT = [("nhrp.ext.type", "type_code"), ("nhrp.ext.c", "compulsory"), ("nhrp.ext.len", "length")]
AUTH = [("nhrp.auth_ext.spi", "spi"), ("nhrp.auth_ext.data", "data_hex")]
FIELDS = [f for f, _ in HEADER + [REQID] + ERR + CIE + EXT + AUTH]


def norm(v):
    """Normalises a tshark or dmvpn value to a comparable string."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    s = str(v).strip()
    if s in ("True", "true"):
        return "1"
    if s in ("False", "false"):
        return "0"
    try:
        return str(int(s, 0))
    except ValueError:
        return s.replace(":", "").lower()


def tshark_packets(capture):
    cmd = ["tshark", "-r", capture, "-o", "nhrp.auth_ext_has_addr:FALSE", "-Y", "nhrp && !(icmp.type == 3 || icmp.type == 11)",
           "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t",
           "-e", "frame.number"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    packets = {}
    for line in out.splitlines():
        cols = line.split("\t")
        frame = int(cols[0])
        packets[frame] = {f: (c.split("|") if c else []) for f, c in zip(FIELDS, cols[1:])}
    return packets


def dmvpn_packets(binary, capture):
    out = subprocess.run([binary, "decode", "--json", capture], capture_output=True, text=True)
    packets, errors = {}, []
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("error"):
            errors.append(rec)
        if rec.get("frame") is not None:
            packets[rec["frame"]] = rec
    return packets, errors


def cie_lists(rec):
    cies = list(rec.get("cies") or [])
    for ext in rec.get("extensions") or []:
        cies += ext.get("cies") or []
    return cies


def compare(frame, t, d):
    diffs = []
    def eq(what, tv, dv):
        if norm(tv) != norm(dv):
            diffs.append(f"frame {frame} ({d.get('type')}): {what}: tshark {tv!r} dmvpn {dv!r}")
    first = lambda f: (t[f][0] if t[f] else None)
    for f, k in HEADER:
        if f == "nhrp.flags" and d.get("type_code") in (7, 8):
            continue  # "unused" in Error and Traffic Indications: tshark shows no flags field
                      # of its own (a first nhrp.flags would be the quoted packet's)
        eq(f, first(f), d.get(k))
    if d.get("type_code") == 7:
        for f, k in ERR:
            eq(f, first(f), d.get(k))
        return diffs
    if d.get("request_id") is not None or t[REQID[0]]:
        eq(REQID[0], first(REQID[0]), d.get(REQID[1]))
    cies = cie_lists(d)
    for f, k in CIE:
        tv = t[f]
        dv = [c.get(k) for c in cies if not (k.startswith("client_") and c.get(k) is None)]
        if [norm(x) for x in tv] != [norm(x) for x in dv]:
            diffs.append(f"frame {frame} ({d.get('type')}): {f} list: tshark {tv} dmvpn {dv}")
    exts = d.get("extensions") or []
    for f, k in EXT:
        tv = t[f]
        dv = [(e.get(k) & 0x3FFF if k == "type_code" else e.get(k)) for e in exts]
        if [norm(x) for x in tv] != [norm(x) for x in dv]:
            diffs.append(f"frame {frame} ({d.get('type')}): {f} list: tshark {tv} dmvpn {dv}")
    auths = [e["auth"] for e in exts if e.get("auth")]
    for f, k in AUTH:
        tv = t[f]
        dv = [a.get(k) for a in auths]
        if [norm(x) for x in tv] != [norm(x) for x in dv]:
            diffs.append(f"frame {frame} ({d.get('type')}): {f}: tshark {tv} dmvpn {dv}")
    return diffs


def main():
    binary, capture = sys.argv[1], sys.argv[2]
    tp = tshark_packets(capture)
    dp, errors = dmvpn_packets(binary, capture)
    diffs = []
    for e in errors:
        diffs.append(f"dmvpn decode error: {json.dumps(e.get('error'))} frame {e.get('frame')}")
    for frame in sorted(set(tp) | set(dp)):
        if frame not in dp:
            diffs.append(f"frame {frame}: tshark sees NHRP, dmvpn decode does not")
        elif frame not in tp:
            diffs.append(f"frame {frame}: dmvpn decode sees NHRP, tshark does not")
        else:
            diffs += compare(frame, tp[frame], dp[frame])
    types = {}
    for r in dp.values():
        types[r.get("type")] = types.get(r.get("type"), 0) + 1
    for line in diffs:
        print(line)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(types.items(), key=lambda kv: str(kv[0])))
    print(f"decode comparison: {len(tp)} NHRP packets (tshark), {len(dp)} (dmvpn), "
          f"{len(diffs)} difference(s) [{summary}]")
    return 1 if diffs or not tp else 0


if __name__ == "__main__":
    sys.exit(main())
