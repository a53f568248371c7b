#!/usr/bin/env bash
# The MBROLA Korean diphone voice (hn1) and the mbrola program (Debian non-free and contrib) in
# malsori's model folder. Whisper reads its Korean far better than eSpeak NG's (docs/benchmarks.md).
#
# Licence: hn1 may be used with the MBROLA program only, and may not be sold or built into a
# product that is sold without its owners' permission; see hn1/LICENSE in the installed folder.
#
#   bash scripts/install_korean_voice.sh [DEST]
# DEST defaults to $MALSORI_HOME/models/mbrola-hn1 (MALSORI_HOME: ~/.cache/malsori).
set -euo pipefail
home="${MALSORI_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/malsori}"
exec bash "$(dirname "$0")/install_mbrola_voices.sh" -d "${1:-$home/models/mbrola-hn1}" hn1
