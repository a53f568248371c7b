#!/usr/bin/env bash
# The MBROLA Korean diphone voice (hn1) and the mbrola program, from Debian's non-free and
# contrib sections, unpacked into malsori's model folder without touching the system's apt
# sources. Whisper reads its Korean far better than eSpeak NG's (docs/benchmarks.md).
#
# Licence: hn1 may be used with the MBROLA program only, and may not be sold or built into a
# product that is sold without its owners' permission; see LICENSE in the installed folder.
#
#   bash scripts/install_korean_voice.sh [DEST]
# DEST defaults to $MALSORI_HOME/models/mbrola-hn1 (MALSORI_HOME: ~/.cache/malsori).
set -euo pipefail
home="${MALSORI_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/malsori}"
dest="${1:-$home/models/mbrola-hn1}"
if [ -x "$dest/mbrola" ] && [ -f "$dest/hn1/hn1" ]; then exit 0; fi
if [ -x /usr/bin/mbrola ] && [ -f /usr/share/mbrola/hn1/hn1 ]; then exit 0; fi  # installed by apt
command -v apt-get >/dev/null 2>&1 || { echo "malsori: the Korean MBROLA voice needs apt-get (Debian/Ubuntu)" >&2; exit 1; }
codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
case "$codename" in bookworm|trixie|forky|sid) ;; *) codename=bookworm ;; esac  # mbrola needs only libc
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
# The system's own Debian mirror (a proxy or local mirror may be all that is reachable).
mirror="$(grep -hs -m1 -oE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
          /etc/apt/sources.list.d/*.sources | head -1 | tr -d ' ' || true)"
echo "deb ${mirror:-http://deb.debian.org/debian} $codename contrib non-free" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=/nonexistent" -o "APT::Sandbox::User=$(id -un)"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1")
echo "malsori: fetching Debian's mbrola and mbrola-hn1 ($codename contrib/non-free)"
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" download mbrola mbrola-hn1 >/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
mkdir -p "$dest.partial/hn1"
cp "$work/root/usr/bin/mbrola" "$dest.partial/mbrola"
cp "$work/root/usr/share/mbrola/hn1/hn1" "$dest.partial/hn1/hn1"
cp "$work/root/usr/share/doc/mbrola-hn1/copyright" "$dest.partial/LICENSE"
rm -rf "$dest" && mv "$dest.partial" "$dest"  # all or nothing
echo "malsori: Korean voice installed in $dest"
