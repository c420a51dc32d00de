#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo fuzz with libFuzzer) and runs them, seeded with the
# repository's own inputs. docs/security.md explains what each target covers.
#   scripts/fuzz.sh --check              type-check every target against today's crates
#                                        (what the test command does: no cargo-fuzz, no
#                                        instrumented build; shares the caller's build cache)
#   scripts/fuzz.sh --build              build every target for fuzzing
#   scripts/fuzz.sh [SECONDS] [TARGET…]  run each target for SECONDS (default 600), two at
#                                        a time; crashes are left in fuzz/artifacts/TARGET/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
  cargo check --quiet --manifest-path fuzz/Cargo.toml --bins
  echo "checked the fuzz targets: inspect image_decode pdf_raster asl textract"
  exit 0
fi
tools="${MEDIDOCS_CARGO_TOOLS:-$HOME/.cache/medidocs/cargo-tools}"
export PATH="$tools/bin:$PATH"
export CARGO_TARGET_DIR="${MEDIDOCS_FUZZ_TARGET:-$HOME/.cache/medidocs/fuzz-target}"
if ! command -v cargo-fuzz >/dev/null; then
  echo "==> installing cargo-fuzz (crates.io) into $tools" >&2
  cargo install cargo-fuzz --locked --root "$tools" >&2
fi
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain when installed,
# otherwise the stable compiler with nightly features allowed and no sanitizer.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=()
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  sanitizer=(--sanitizer none)
fi
targets=(inspect image_decode pdf_raster asl textract)

if [ "${1:-}" = "--build" ]; then
  (cd fuzz && "${fuzz[@]}" build -O "${sanitizer[@]}")
  echo "built ${#targets[@]} fuzz targets: ${targets[*]}"
  exit 0
fi

seconds="${1:-600}"
shift || true
[ "$#" -gt 0 ] && targets=("$@")
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds"/{documents,pdf,asl,textract}
cp samples/documents/* samples/variants/* "$seeds/documents/" 2>/dev/null || true
cp samples/documents/*.pdf "$seeds/pdf/"
cp statemachines/*.json examples/states/*.asl.json "$seeds/asl/"
cp samples/textract/*.json "$seeds/textract/"
cp tests/corpus/textract/*.json "$seeds/textract/"
seed_for() {
  case "$1" in
    inspect|image_decode) echo "$seeds/documents" ;;
    pdf_raster) echo "$seeds/pdf" ;;
    asl) echo "$seeds/asl" ;;
    textract) echo "$seeds/textract" ;;
  esac
}
(cd fuzz && "${fuzz[@]}" build -O "${sanitizer[@]}" >/dev/null)
run_one() {
  local t=$1 corpus="fuzz/corpus/$1"
  mkdir -p "$corpus"
  (cd fuzz && "${fuzz[@]}" run -O "${sanitizer[@]}" "$t" "corpus/$t" "$(seed_for "$t")" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    >"$CARGO_TARGET_DIR/fuzz-$t.log" 2>&1) && status=ok || status=CRASH
  local runs
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$CARGO_TARGET_DIR/fuzz-$t.log" | grep -Eo '[0-9]+$' || echo "?")
  echo "$t: $status after $seconds s, $runs inputs run (log: $CARGO_TARGET_DIR/fuzz-$t.log)"
}
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
