#!/usr/bin/env bash
# The main job on the embedded runtime: installs what it needs (Debian packages), builds
# medidocs, and runs every file of samples/documents through the pipeline.
#   scripts/run-samples.sh [DATA_DIR]     (default: .medidocs in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${1:-.medidocs}"

bash scripts/install-deps.sh
command -v cargo >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2; exit 1; }
echo "==> building medidocs (release; the first build takes 10 to 20 minutes on two cores)"
cargo build --release --quiet -p medidocs
bin=target/release/medidocs
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release/medidocs"

echo "==> medidocs run samples/documents --data-dir $data_dir"
"$bin" --data-dir "$data_dir" run samples/documents
echo
echo "==> medidocs status --data-dir $data_dir"
"$bin" --data-dir "$data_dir" status
# (Every line is read: a reader that stops early would close the pipe on medidocs.)
first_ready=$("$bin" --data-dir "$data_dir" run samples/documents --json | python3 -c '
import json, sys
found = [d["id"] for d in map(json.loads, sys.stdin) if d["status"] == "READY" and d["pages"] > 1]
print(found[0] if found else "")')
echo
echo "==> medidocs show $first_ready --data-dir $data_dir   (one document: metadata, renditions, text)"
"$bin" --data-dir "$data_dir" show "$first_ready"
echo
echo "Renditions and text are under $data_dir/objects/artefacts/; rejected originals under $data_dir/objects/quarantine/."
