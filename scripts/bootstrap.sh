#!/usr/bin/env bash
# Installs what is missing, idempotently: Debian packages (espeak-ng and PortAudio for speech,
# mosquitto for tests and production, chromium for browser tests), then a .venv from the pinned requirements with this package in it.
# Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-dev}"

debs=()
# Speech: espeak-ng is the fallback voice (and voices Korean test speech); PortAudio headers build PyAudio.
command -v espeak-ng >/dev/null 2>&1 || debs+=(espeak-ng)
[ -e /usr/include/portaudio.h ] || debs+=(portaudio19-dev)
if [ "$profile" = dev ]; then
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || debs+=(mosquitto)
  command -v chromium >/dev/null 2>&1 || debs+=(chromium)
  # Japanese glyphs in browser screenshots (test artifacts, docs/phone.png)
  [ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || debs+=(fonts-ipafont-gothic)
fi
if [ ${#debs[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${debs[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi

reqs=requirements.txt
[ "$profile" = dev ] && reqs=requirements-dev.txt
stamp=".venv/.installed-$profile"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  python3 -m venv .venv
fi
# Reinstall only when the pinned requirements or setup.py changed since the last install.
if [ ! -f "$stamp" ] || [ "$reqs" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  echo "bootstrap: installing Python packages from $reqs" >&2
  .venv/bin/pip install -q --disable-pip-version-check -r "$reqs"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi
