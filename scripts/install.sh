#!/usr/bin/env bash
# Install dmvpn: the binary, the systemd unit, sample configurations and shell
# completions.
#
#   scripts/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--no-build]
#
#   --prefix DIR    installation prefix (default /usr/local): the binary goes to
#                   DIR/sbin/dmvpn, completions under DIR/share
#   --destdir DIR   staging root prepended to every path (packaging, tests);
#                   nothing outside it is touched
#   --binary FILE   install this prebuilt binary instead of building one
#                   (also DMVPN_BINARY=FILE)
#   --no-build      do not build; use target/release/dmvpn as it is
#
# Without --binary the release binary is built with `cargo build --release -p dmvpn`.
# Installed (DESTDIR omitted):
#   PREFIX/sbin/dmvpn
#   /etc/systemd/system/dmvpn.service              (ExecStart points at PREFIX/sbin/dmvpn)
#   /etc/dmvpn/hub.conf, /etc/dmvpn/spoke.conf     (existing files are never overwritten)
#   PREFIX/share/bash-completion/completions/dmvpn
#   PREFIX/share/zsh/site-functions/_dmvpn
#   PREFIX/share/fish/vendor_completions.d/dmvpn.fish
# Afterwards: copy a sample to /etc/dmvpn/dmvpn.conf, edit it, check it with
# `dmvpn config check /etc/dmvpn/dmvpn.conf`, then
# `systemctl daemon-reload && systemctl enable --now dmvpn`.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

prefix=/usr/local
destdir=""
binary="${DMVPN_BINARY:-}"
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        --binary) binary="${2:?--binary needs a file}"; shift 2 ;;
        --binary=*) binary="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in
    /*) ;;
    *) echo "install.sh: --prefix must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"

if [ -z "$binary" ]; then
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    if [ "$build" -eq 1 ]; then
        echo "== building the release binary"
        (cd "$root" && cargo build --release -p dmvpn)
    fi
    binary="$target_dir/release/dmvpn"
fi
if [ ! -x "$binary" ]; then
    echo "install.sh: no executable dmvpn binary at '$binary' (build it or pass --binary FILE)" >&2
    exit 1
fi

sbin="$destdir$prefix/sbin"
unitdir="$destdir/etc/systemd/system"
confdir="$destdir/etc/dmvpn"
bashdir="$destdir$prefix/share/bash-completion/completions"
zshdir="$destdir$prefix/share/zsh/site-functions"
fishdir="$destdir$prefix/share/fish/vendor_completions.d"

echo "== installing into ${destdir:-/} (prefix $prefix)"
install -d -m 0755 "$sbin" "$unitdir" "$bashdir" "$zshdir" "$fishdir"
install -d -m 0750 "$confdir"

install -m 0755 "$binary" "$sbin/dmvpn"
echo "   $prefix/sbin/dmvpn"

# The unit names /usr/local/sbin/dmvpn; follow the chosen prefix.
sed "s|/usr/local/sbin/dmvpn|$prefix/sbin/dmvpn|g" "$root/packaging/systemd/dmvpn.service" \
    >"$unitdir/dmvpn.service.tmp"
chmod 0644 "$unitdir/dmvpn.service.tmp"
mv "$unitdir/dmvpn.service.tmp" "$unitdir/dmvpn.service"
echo "   /etc/systemd/system/dmvpn.service"

for sample in "$root"/etc/dmvpn/*; do
    [ -f "$sample" ] || continue
    name="$(basename "$sample")"
    if [ -e "$confdir/$name" ]; then
        echo "   /etc/dmvpn/$name exists, left unchanged"
    else
        install -m 0640 "$sample" "$confdir/$name"
        echo "   /etc/dmvpn/$name"
    fi
done

gen() {
    # gen SHELL FILE: write the completion script atomically, failing on empty output.
    local tmp="$2.tmp"
    "$binary" completions "$1" >"$tmp"
    if [ ! -s "$tmp" ]; then
        rm -f "$tmp"
        echo "install.sh: 'dmvpn completions $1' printed nothing" >&2
        exit 1
    fi
    chmod 0644 "$tmp"
    mv "$tmp" "$2"
    echo "   ${2#"$destdir"}"
}
gen bash "$bashdir/dmvpn"
gen zsh "$zshdir/_dmvpn"
gen fish "$fishdir/dmvpn.fish"

if [ -z "$destdir" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
echo "== done. Next: cp /etc/dmvpn/hub.conf (or spoke.conf) /etc/dmvpn/dmvpn.conf, edit it,"
echo "   dmvpn config check /etc/dmvpn/dmvpn.conf && systemctl enable --now dmvpn"
