#!/usr/bin/env bash
# Debian packages that the embedded defaults use: espeak-ng (speech in ~100 languages) and
# apertium-eng-spa (English<->Spanish text translation). Installs them when apt-get is usable,
# otherwise names them once and carries on: malsori then reports the missing engine when used.
# With --test it also installs chromium, which the browser test drives through Playwright.
set -u
need=()
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
if ! command -v apertium >/dev/null 2>&1 || ! apertium -l 2>/dev/null | grep -q '^ *eng-spa'; then
  need+=(apertium apertium-eng-spa)
fi
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "malsori: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
  echo "malsori: apt-get install ${need[*]} failed" >&2
fi
echo "malsori: please install these system packages for full language coverage: ${need[*]}" >&2
exit 0
