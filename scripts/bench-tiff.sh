#!/usr/bin/env bash
# TIFF decoding speed against libtiff: the same A4 300 dpi scan in the layouts clinics'
# scanners write (made from scripts/make-bench-images.py's scan with libtiff's tiffcp and
# ImageMagick), each decoded to uncompressed RGBA by medidocs (`medidocs renditions
# --pixels`, the pipeline's decoder) and by libtiff (`tiff2rgba -c none`), one after the
# other on one core, in one run. The report goes to stdout (Markdown): what
# docs/benchmarks.md records. Installs what it needs (libtiff-tools, imagemagick; Pillow
# and reportlab for the scan).
#   scripts/bench-tiff.sh [ROUNDS]       (default 5 timed rounds after one warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in libtiff-tools imagemagick util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -c 'import PIL, reportlab' 2>/dev/null || bash scripts/install-deps.sh --test
echo "==> building medidocs (release)" >&2
cargo build --release -q -p medidocs
bin="${CARGO_TARGET_DIR:-$(pwd)/target}/release/medidocs"
work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> making the inputs" >&2
python3 scripts/make-bench-images.py "$work" >/dev/null
python3 scripts/bench-tiff.py "$bin" "$work" "$rounds"
