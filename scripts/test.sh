#!/usr/bin/env bash
# Runs every check: installs what the tests need (Debian packages, Python sample
# generator), then formatting, lints, the sample generator, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# Each section says how long the run has taken so far (docs/benchmarks.md, "First run").
step() { echo "==> $* (at $((SECONDS - started)) s)"; }

bash scripts/install-deps.sh --test
command -v cargo >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The deployment template's tools take minutes to install, mostly waiting on the network:
# they install while clippy compiles, and the template checks wait for them.
bash scripts/install-deps.sh --tools >"$tmp/tools.log" 2>&1 &
tools_pid=$!
trap 'kill $tools_pid 2>/dev/null; rm -rf "$tmp"' EXIT

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
step "the fuzz targets compile (scripts/fuzz.sh --check; docs/security.md says how to run them)"
bash scripts/fuzz.sh --check 2>&1 | tail -1

# The template's tools live in their own virtual environment (see install-deps.sh); only
# their commands run with it first on PATH, so python3 stays the one with the test
# suite's packages.
tools="${MEDIDOCS_TOOLS:-$HOME/.cache/medidocs/tools}"
export SAM_CLI_TELEMETRY=0
with_tools() { PATH="$tools/bin:$PATH" "$@"; }
wait "$tools_pid" || { echo "installing the template's tools failed:"; cat "$tmp/tools.log"; exit 1; }
step "cfn-lint, sam validate --lint, checkov: sam/template.yaml, sam/edge.yaml"
with_tools cfn-lint sam/template.yaml sam/edge.yaml
for env in default dr primary; do  # each region's settings in sam/samconfig.toml
  with_tools sam validate -t sam/template.yaml --config-env "$env" | tail -1
done
with_tools checkov --skip-download --quiet --compact --framework cloudformation -f sam/template.yaml
with_tools checkov --skip-download --quiet --compact --framework cloudformation -f sam/edge.yaml

step "asl-validator statemachines/*.asl.json"
for def in statemachines/*.asl.json; do asl-validator --json-path "$def"; done

step "the sample generator reproduces samples/expected"
python3 scripts/make-samples.py "$tmp" >/dev/null
diff -r samples/expected "$tmp/expected"
diff <(cd samples/documents && ls) <(cd "$tmp/documents" && ls)

step "the TIFF corpus generator reproduces tests/corpus/tiff (libtiff's references)"
python3 scripts/make-tiff-corpus.py --check

step "the PDF corpus generator reproduces tests/corpus/pdf (poppler's references)"
python3 scripts/make-pdf-corpus.py --check
step "the labelled understanding set is what scripts/make-understand-set.py makes"
python3 scripts/make-understand-set.py --check

step "starting moto (AWS-compatible server) on 127.0.0.1"
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null || { echo "moto did not start:"; cat "$tmp/moto.log"; exit 1; }
export MEDIDOCS_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"

step "the document state machine on moto's Step Functions engine"
python3 scripts/check-moto-stepfunctions.py "$MEDIDOCS_MOTO_ENDPOINT"

step "sam build (cargo-lambda, arm64, unoptimised)"
# SAM builds Rust in functions/target and copies the binaries from there; that folder is
# a link to a cache outside the clone, so later runs reuse the arm64 build.
# This checks that the template builds and links for arm64, not how fast the code runs:
# unoptimised, the first build takes 260 s instead of about 600 (docs/benchmarks.md,
# "First run"). A deployment's `sam build` (docs/deploy.md) builds it optimised.
lambda_target="${MEDIDOCS_LAMBDA_TARGET:-$HOME/.cache/medidocs/lambda-target}"
mkdir -p "$lambda_target"
[ -L functions/target ] || [ ! -e functions/target ] || rm -rf functions/target
ln -sfn "$lambda_target" functions/target
(unset CARGO_TARGET_DIR; export CARGO_PROFILE_RELEASE_OPT_LEVEL=0; with_tools sam build -t sam/template.yaml --beta-features \
  --build-dir "$tmp/sam-build" >"$tmp/sam-build.log" 2>&1) \
  || { tail -40 "$tmp/sam-build.log"; exit 1; }
for f in "$tmp"/sam-build/*Function/bootstrap; do
  file "$f" | grep -q 'ARM aarch64' || { echo "$f is not an arm64 executable"; exit 1; }
done
# SAM builds once per group of functions with the same build settings and shares the
# result among the group, so there are fewer build folders than functions.
echo "built the arm64 binary every function runs (medidocs-lambda): $(ls "$tmp"/sam-build/*Function/bootstrap | wc -l) build folders"

step "cargo test"
set +e
cargo test --workspace 2>&1 | tee "$tmp/test.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$tmp/test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$tmp/test.log" | awk '{s+=$6} END {print s+0}')

step "the doctors' page in headless Chromium (sign in, timeline by type, filters, filing, text, search with the words outlined on the page)"
web_status=0
bin="${CARGO_TARGET_DIR:-target}/debug/medidocs"
web="$tmp/web-data"
artifacts="${MEDIDOCS_ARTIFACTS:-$PWD/ci-artifacts}"
mkdir -p "$artifacts"
shot="$artifacts/doctor-page.png"
if [ "$status" -eq 0 ]; then
  "$bin" --data-dir "$web" run samples/documents/medication-box.heic \
    samples/documents/discharge-summary.pdf samples/documents/lab-report-scan.png \
    --patient p-1 >/dev/null
  "$bin" --data-dir "$web" care-team add --doctor d-1 --patient p-1 >/dev/null
  "$bin" --data-dir "$web" serve --listen 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
  serve_pid=$!
  trap 'kill $moto_pid $serve_pid 2>/dev/null; rm -rf "$tmp"' EXIT
  base=""
  for _ in $(seq 1 100); do
    base=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$tmp/serve.log" | head -1 || true)
    [ -n "$base" ] && break
    sleep 0.1
  done
  token=$("$bin" --data-dir "$web" token --role doctor --sub d-1)
  NODE_PATH="${MEDIDOCS_NODE:-$HOME/.cache/medidocs/node}/node_modules" \
    node scripts/web-e2e.cjs "$base" "$token" p-1 "Levothyroxine" "$shot" \
      discharge_summary 2026-11-09 || web_status=1
  kill "$serve_pid" 2>/dev/null || true
  echo "screenshot of the doctors' page: $shot"
  if [ "$web_status" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

if [ "$status" -eq 0 ]; then
  step "the disaster-recovery drill (also a test: crates/medidocs/tests/drill.rs)"
  "$bin" drill --documents 12 2>/dev/null || { echo "the drill lost or reprocessed documents"; failed=$((failed + 1)); status=1; }
  step "a small capacity simulation (also tests: crates/medidocs-sim/tests/scenarios.rs)"
  "$bin" simulate --documents 200 --max-pages 8 --bulk 150 --bulk-pipelines 20 --textract-tps 2 \
    --ocr-concurrency 12 --account-concurrency 60 --lambda-error-rate 0.02 --outage-at 0.4 2>/dev/null \
    || { echo "the simulation did not run"; failed=$((failed + 1)); status=1; }
fi

echo
echo "$passed passed, $failed failed, in $((SECONDS - started)) s"
[ "$status" -ne 0 ] && exit "$status"
exit "$web_status"
