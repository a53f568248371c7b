#!/usr/bin/env bash
# MBROLA diphone voices and the mbrola program, from Debian's non-free and contrib sections,
# unpacked into a folder of malsori's without touching the system's apt sources.
#
#   bash scripts/install_mbrola_voices.sh [-d DEST] VOICE...
#
# DEST defaults to $MALSORI_HOME/models/mbrola-voices (MALSORI_HOME: ~/.cache/malsori); each
# voice lands in DEST/VOICE/VOICE with its licence beside it, the program in DEST/mbrola.
# Licences: MBROLA voices may be used with the MBROLA program only, and may not be sold or built
# into a product that is sold without their owners' permission (each voice's LICENSE).
set -euo pipefail
home="${MALSORI_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/malsori}"
dest="$home/models/mbrola-voices"
if [ "${1:-}" = "-d" ]; then dest="$2"; shift 2; fi
[ "$#" -gt 0 ] || { echo "usage: install_mbrola_voices.sh [-d DEST] VOICE..." >&2; exit 2; }
missing=()
for voice in "$@"; do
  [[ "$voice" =~ ^[a-z]{2}[0-9]$ ]] || { echo "malsori: $voice is not an MBROLA voice name (e.g. es1)" >&2; exit 2; }
  if [ -f "$dest/$voice/$voice" ] && [ -x "$dest/mbrola" ]; then continue; fi
  if [ -f "/usr/share/mbrola/$voice/$voice" ] && [ -x /usr/bin/mbrola ]; then continue; fi  # installed by apt
  missing+=("$voice")
done
[ "${#missing[@]}" -gt 0 ] || exit 0
command -v apt-get >/dev/null 2>&1 || { echo "malsori: MBROLA voices are fetched with apt-get (Debian/Ubuntu)" >&2; exit 1; }
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
echo "malsori: fetching Debian's mbrola and mbrola-{$(IFS=,; echo "${missing[*]}")} ($codename contrib/non-free)"
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" download mbrola "${missing[@]/#/mbrola-}" >/dev/null)
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
mkdir -p "$dest"
if [ ! -x "$dest/mbrola" ]; then
  cp "$work/root/usr/bin/mbrola" "$dest/mbrola.partial" && mv "$dest/mbrola.partial" "$dest/mbrola"
fi
for voice in "${missing[@]}"; do
  rm -rf "$dest/$voice.partial" && mkdir -p "$dest/$voice.partial"
  cp "$work/root/usr/share/mbrola/$voice/$voice" "$dest/$voice.partial/$voice"
  cp "$work/root/usr/share/doc/mbrola-$voice/copyright" "$dest/$voice.partial/LICENSE"
  rm -rf "$dest/$voice" && mv "$dest/$voice.partial" "$dest/$voice"  # each voice all or nothing
  echo "malsori: MBROLA voice $voice installed in $dest/$voice"
done
