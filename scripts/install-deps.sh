#!/usr/bin/env bash
# Installs what the embedded runtime needs on a Debian machine (bookworm or later).
# Safe to run again: it only installs what is missing.
#   --test   also installs what the test suite needs (sample generator, linters).
set -euo pipefail
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd libheif-dev pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_test -eq 1 ]; then
  if ! python3 -c 'import PIL, pillow_heif, reportlab' 2>/dev/null; then
    echo "==> installing Python packages for the sample generator"
    python3 -m pip install -q --disable-pip-version-check 'Pillow==11.*' 'pillow-heif==0.*' 'reportlab==4.*'
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
