#!/usr/bin/env bash
# Capacity simulations: `medidocs simulate` at 1,000, 10,000 and 100,000 documents with the
# deployed definitions, and at 1,000 and 10,000 with the definitions from before the OCR
# queue (crates/medidocs-sim/tests/fixtures), under one load: a clinic's import (four
# documents in five) while patients upload, Textract at 5 TPS, 10 % of events delivered
# twice, 1 % of Lambda invocations failing, the primary region down for an hour at 40 %.
# Prints one table and one JSON line per run; the figures are in docs/benchmarks.md.
#   scripts/bench-sim.sh [SIZES...]      (default: 1000 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000 100000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medidocs/target}"
cargo build --release -p medidocs >/dev/null
bin="$CARGO_TARGET_DIR/release/medidocs"
fixtures=crates/medidocs-sim/tests/fixtures
before=(--definition "$fixtures/document-pipeline.before-queue.asl.json"
        --bulk-definition "$fixtures/bulk-import.before-queue.asl.json")
load=(--max-pages 20 --uploads-per-second 0.2 --textract-tps 5 --ocr-concurrency 30
      --account-concurrency 200 --bulk-pipelines 50 --duplicate-events 0.1
      --lambda-error-rate 0.01 --outage-at 0.4 --seed 1 --json)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {  # name, then simulate's arguments
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/$name.time" "$bin" simulate "$@" >"$out/$name.json" 2>/dev/null
  echo "$name $(cat "$out/$name.time")" >>"$out/runs"
}
for n in "${sizes[@]}"; do
  run "$n" --documents "$n" "${load[@]}"
  if [ "$n" -le 10000 ]; then
    run "$n-before-queue" --documents "$n" "${load[@]}" "${before[@]}"
  fi
done
python3 - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| run | documents | pages | READY / REJECTED / FAILED | lost, twice, stuck | failed by throttling | Textract peak (quota) | drain / floor | patients p50 / p95 | transitions / page | Lambda GB-s / page | USD / 1,000 pages (eu-west-1) | wall | peak RSS |")
print("|---|---:|---:|---|---|---:|---|---|---|---:|---:|---:|---:|---:|")
for line in (out / "runs").read_text().splitlines():
    name, wall, rss = line.split()
    r = json.loads((out / f"{name}.json").read_text())
    s = r["statuses"]
    cost = r["cost_per_1000_pages"]["eu-west-1"]["total"]
    print(f"| {name} | {r['documents']:,} | {r['pages']:,} | {s.get('READY',0):,} / {s.get('REJECTED',0):,} / {s.get('FAILED',0):,} "
          f"| {r['lost']}, {r['processed_twice']}, {r['stuck']} | {r['failed_by_throttling']:,} "
          f"| {r['textract_peak_tps']} ({r['textract_tps_quota']:g}) | {r['drain_seconds']:,.0f} / {r['floor_seconds']:,.0f} s = {r['drain_over_floor']:.2f} "
          f"| {r['patient_latency_seconds']['p50']:g} / {r['patient_latency_seconds']['p95']:g} s | {r['transitions_per_page']:.2f} "
          f"| {r['lambda_gb_seconds_per_page']:.2f} | {cost:.2f} | {float(wall):.0f} s | {int(rss)//1024} MiB |")
for line in (out / "runs").read_text().splitlines():
    name = line.split()[0]
    r = json.loads((out / f"{name}.json").read_text())
    r.pop("usage", None)
    print(json.dumps({"run": name, **r}))
PY
