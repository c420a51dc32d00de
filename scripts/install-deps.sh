#!/usr/bin/env bash
# Installs what the embedded runtime needs on a Debian machine (bookworm or later).
# Safe to run again: it only installs what is missing.
#   --test   also installs what the test suite needs (sample generator, moto, linters),
#            except the deployment template's tools
#   --tools  only the deployment template's tools (cfn-lint, checkov, SAM CLI, cargo-lambda,
#            Zig): about 5 minutes, mostly waiting on the network, which the test command
#            spends while clippy compiles
set -euo pipefail
if [ "${1:-}" = "--tools" ]; then
  # The deployment template's tools, in a virtual environment of their own (their pinned
  # dependencies would otherwise fight moto's): cfn-lint, checkov, SAM CLI, and
  # cargo-lambda with Zig for the arm64 Lambda build.
  tools="${MEDIDOCS_TOOLS:-$HOME/.cache/medidocs/tools}"
  if [ ! -x "$tools/bin/sam" ] || [ ! -x "$tools/bin/checkov" ] || [ ! -x "$tools/bin/cfn-lint" ] \
      || [ ! -x "$tools/bin/cargo-lambda" ]; then
    echo "==> installing cfn-lint, checkov, aws-sam-cli, cargo-lambda and ziglang into $tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install -q --disable-pip-version-check cfn-lint checkov aws-sam-cli cargo-lambda ziglang
  fi
  exit 0
fi
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# Tesseract runs in-process (libtesseract-dev: its C API to link against) with the models
# of the languages pages are read in: English, Irish, French, Spanish, and osd for
# orientation.
pkgs=(tesseract-ocr libtesseract-dev tesseract-ocr-eng tesseract-ocr-gle tesseract-ocr-fra
  tesseract-ocr-spa tesseract-ocr-osd pkg-config)
# The tests also fetch presigned URLs and probe the local AWS-compatible server with curl;
# `file` checks that the Lambda build is arm64; Chromium runs the doctors' page end to end.
# libtiff's tools and ImageMagick make the TIFF corpus and its references
# (scripts/make-tiff-corpus.py); poppler's tools and qpdf the PDF corpus's
# (scripts/make-pdf-corpus.py), with DejaVu for its Hebrew page.
[ $want_test -eq 1 ] && pkgs+=(curl file chromium libtiff-tools imagemagick poppler-utils qpdf fonts-dejavu-core)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_test -eq 1 ]; then
  if ! python3 -c 'import PIL, pillow_heif, reportlab, bidi' 2>/dev/null; then
    echo "==> installing Python packages for the sample generator"
    if ! python3 -m pip --version >/dev/null 2>&1; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    fi
    py_pkgs=('Pillow==11.*' 'pillow-heif==0.*' 'reportlab==4.*' 'python-bidi==0.6.*')
    # Debian's own Python refuses pip installs into it (PEP 668); these are only for the
    # test suite's sample and corpus generators.
    python3 -m pip install -q --disable-pip-version-check "${py_pkgs[@]}" 2>/dev/null \
      || python3 -m pip install -q --disable-pip-version-check --break-system-packages "${py_pkgs[@]}"
  fi
  # moto 5.2's new S3 serializer answers CompleteMultipartUpload with a
  # <CompleteMultipartUploadResponse> root, which the Rust SDK (rightly) refuses; 5.1.22
  # answers as S3 does.
  moto_version=5.1.22
  if [ "$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$moto_version" ] \
      || ! command -v moto_server >/dev/null 2>&1; then
    echo "==> installing moto $moto_version (an AWS-compatible server on 127.0.0.1 for the AWS adapters' tests)"
    python3 -m pip install -q --disable-pip-version-check "moto[server]==$moto_version" 2>/dev/null \
      || python3 -m pip install -q --disable-pip-version-check --break-system-packages "moto[server]==$moto_version"
  fi
  # fhir.resources validates the API's FHIR R4 resources (scripts/validate-fhir.py, R4B
  # models) in the API's tests.
  fhir_version=8.3.0
  if [ "$(python3 -c 'import fhir.resources; print(fhir.resources.__version__)' 2>/dev/null)" != "$fhir_version" ]; then
    echo "==> installing fhir.resources $fhir_version (the FHIR validator the API's tests run)"
    python3 -m pip install -q --disable-pip-version-check "fhir.resources==$fhir_version" 2>/dev/null \
      || python3 -m pip install -q --disable-pip-version-check --break-system-packages "fhir.resources==$fhir_version"
  fi
  if ! command -v asl-validator >/dev/null 2>&1; then
    echo "==> installing asl-validator (npm) for the state machine check"
    if ! command -v npm >/dev/null 2>&1; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    $SUDO npm install -g --silent --no-fund --no-audit asl-validator@4 >/dev/null
  fi
  # playwright-core drives Debian's Chromium for the web page's end-to-end test; it downloads
  # no browser of its own.
  node_dir="${MEDIDOCS_NODE:-$HOME/.cache/medidocs/node}"
  if [ ! -d "$node_dir/node_modules/playwright-core" ]; then
    echo "==> installing playwright-core (npm) for the browser test"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --silent --no-fund --no-audit playwright-core@1 >/dev/null
  fi
  rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
    || rustup target add aarch64-unknown-linux-gnu >/dev/null
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
