#!/usr/bin/env bash
# Bytes stored per page, measured (`medidocs storage`), and the profile the capacity
# simulator prices (crates/medidocs-sim/prices.json, "stored_bytes_per_page"): the
# simulator's load is four documents in five from a clinic's bulk import and one in five
# from patients, so the profile is 0.8 × the per-page bytes of the samples (a clinic's
# scans, faxes and PDFs) + 0.2 × those of a 12 MP phone photo of a letter
# (scripts/make-bench-images.py).
#
# usage: scripts/bench-storage.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d)}"
mkdir -p "$out/images"
cargo build --quiet --release -p medidocs
bin="${CARGO_TARGET_DIR:-target}/release/medidocs"
python3 scripts/make-bench-images.py "$out/images" >/dev/null
echo "==> samples/documents (a clinic's scans, faxes and PDFs)"
"$bin" storage samples/documents
"$bin" storage samples/documents --json >"$out/samples.json"
echo "==> scripts/make-bench-images.py (photos, noisy 300 dpi colour scans, a 10-page PDF)"
"$bin" storage "$out/images"
"$bin" storage "$out/images/phone-12mp.jpg" --json >"$out/phone.json"
echo "==> profile for crates/medidocs-sim/prices.json: 0.8 × samples + 0.2 × phone photo"
python3 - "$out/samples.json" "$out/phone.json" <<'PY'
import json, sys
clinic = json.load(open(sys.argv[1]))["per_page"]
phone = json.load(open(sys.argv[2]))["per_page"]
profile = {k: round(0.8 * clinic[k] + 0.2 * phone.get(k, 0), 2 if "objects" in k else 0)
           for k in clinic}
print(json.dumps(profile, indent=2))
PY
