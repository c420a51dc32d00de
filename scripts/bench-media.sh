#!/usr/bin/env bash
# Media benchmark: decode → orient → the pipeline's three renditions (thumb 256 px WebP q75,
# preview 1600 px JPEG q82, full-size grey OCR PNG), on the same inputs in one run, with
# medidocs, libvips (Debian's, through pyvips) and Pillow; one core and two cores; latency,
# megapixels per second, peak RSS and the ratios. The report goes to stdout (Markdown) and
# is what docs/benchmarks.md records. Installs what it needs (Debian packages libvips-tools
# and util-linux's taskset; Pillow, pyvips and reportlab in a virtual environment).
#   scripts/bench-media.sh [ROUNDS]       (default 5 timed rounds per worker)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in libvips-tools util-linux python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-venv is only needed where python3 is Debian's own.
if [ ${#missing[@]} -gt 0 ] && { [ "${missing[*]}" != "python3-venv" ] || ! python3 -m venv --help >/dev/null 2>&1; }; then
  echo "==> installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
venv="${MEDIDOCS_BENCH_VENV:-$HOME/.cache/medidocs/bench-venv}"
if ! "$venv/bin/python" -c 'import PIL, pyvips, reportlab' 2>/dev/null; then
  echo "==> installing Pillow, pyvips and reportlab into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'Pillow==11.*' 'pyvips==2.*' 'reportlab==4.*'
fi

echo "==> building medidocs (release)" >&2
cargo build --release -q -p medidocs
bin="${CARGO_TARGET_DIR:-$(pwd)/target}/release/medidocs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> making the inputs (scripts/make-bench-images.py)" >&2
"$venv/bin/python" scripts/make-bench-images.py "$work"
echo "==> measuring: $rounds rounds per worker, each tool on one core then on two" >&2
"$venv/bin/python" scripts/bench-media.py run "$bin" "$work" "$rounds"
