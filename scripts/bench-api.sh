#!/usr/bin/env bash
# Load test of the API with a real HTTP load tool (oha, from crates.io): requests per second
# and p50/p99 latency of a document's text, a patient's listing and a search, with 1,000
# documents in the store, against `medidocs serve` (release build) on 127.0.0.1.
#   scripts/bench-api.sh [DOCUMENTS] [SECONDS] [CONNECTIONS]
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
docs="${1:-1000}"
secs="${2:-20}"
conns="${3:-32}"

tools="$HOME/.cache/medidocs/cargo-tools"
if [ ! -x "$tools/bin/oha" ]; then
  echo "==> installing oha (HTTP load generator) into $tools" >&2
  cargo install oha --locked --root "$tools" >&2
fi
oha="$tools/bin/oha"
echo "==> building medidocs (release)" >&2
cargo build --release -q -p medidocs
bin="${CARGO_TARGET_DIR:-target}/release/medidocs"

work=$(mktemp -d)
trap 'kill ${serve_pid:-} 2>/dev/null; rm -rf "$work"' EXIT
echo "==> generating $docs one-page notes and processing them (OCR) into a fresh data dir" >&2
python3 - "$work/notes" "$docs" <<'EOF'
import os, random, sys
from PIL import Image, ImageDraw, ImageFont
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
drugs = ["Amoxicillin", "Levothyroxine", "Metformin", "Atorvastatin", "Ramipril", "Sertraline"]
font = ImageFont.load_default(size=28)
rng = random.Random(7)
for i in range(n):
    img = Image.new("L", (900, 260), 255)
    d = ImageDraw.Draw(img)
    d.text((30, 30), f"Clinic note {i:04d}", font=font, fill=0)
    d.text((30, 90), f"{rng.choice(drugs)} {rng.choice([5, 10, 20, 50, 100])} mg daily", font=font, fill=0)
    d.text((30, 150), f"Review in {rng.randint(1, 12)} weeks", font=font, fill=0)
    img.save(os.path.join(out, f"note-{i:04d}.png"))
EOF
data="$work/data"
start=$(date +%s)
"$bin" --data-dir "$data" run "$work/notes" --patient p-bench --json >"$work/run.jsonl"
ready=$(grep -c '"READY"' "$work/run.jsonl" || true)
echo "    $ready of $docs READY in $(( $(date +%s) - start )) s" >&2
"$bin" --data-dir "$data" care-team add --doctor d-bench --patient p-bench >/dev/null
doc=$(head -1 "$work/run.jsonl" | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
token=$("$bin" --data-dir "$data" token --role doctor --sub d-bench)

# One load generator, one token, thousands of requests a second: the per-address and
# per-token rate limits are lifted for this measurement (scripts/bench-api-abuse.sh runs
# with the defaults).
"$bin" --data-dir "$data" serve --listen 127.0.0.1:0 \
  --rate-per-address 1000000 --burst-per-address 1000000 \
  --rate-per-token 1000000 --burst-per-token 1000000 >"$work/serve.log" 2>&1 &
serve_pid=$!
base=""
for _ in $(seq 1 100); do
  base=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$work/serve.log" | head -1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$work/serve.log" >&2; exit 1; }

n=0
measure() { # label path
  n=$((n + 1))
  "$oha" --no-tui --output-format json -z "${secs}s" -c "$conns" \
    -H "Authorization: Bearer $token" "$base$2" >"$work/oha-$n.json"
  python3 - "$1" "$work/oha-$n.json" <<'EOF'
import json, sys
name, f = sys.argv[1], sys.argv[2]
r = json.load(open(f))
s, p = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if k.startswith("2"))
total = sum(codes.values())
print(f"| {name} | {s['requestsPerSec']:.0f} | {p['p50'] * 1000:.2f} | {p['p99'] * 1000:.2f} | {ok}/{total} |")
EOF
}

echo
echo "$docs documents in the store; $conns connections for ${secs} s each; $(nproc) cores; $(uname -m)"
echo
echo "| endpoint | requests/s | p50 ms | p99 ms | 2xx/all |"
echo "|---|---|---|---|---|"
measure "GET /v1/documents/{id}/text" "/v1/documents/$doc/text"
measure "GET /v1/documents/{id}" "/v1/documents/$doc"
measure "GET /v1/patients/{p}/documents?limit=20" "/v1/patients/p-bench/documents?limit=20"
audit=$("$bin" --data-dir "$data" audit --patient p-bench --limit 100000000 --json | wc -l)
echo
echo "audit records written during the run (one per text read): $audit"
