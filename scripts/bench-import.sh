#!/usr/bin/env bash
# Bulk import benchmark: generates N mixed scans (phone JPEGs, 2-page TIFF faxes, 1–2 page
# image-only PDFs) and imports them with `medidocs import`, then processes the same files
# with a sequential loop of `medidocs run FILE` (one process per file, as a script would).
# Reports documents per minute, CPU use of the cores and peak RSS of each, side by side.
#   scripts/bench-import.sh [N]          (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
echo "==> building medidocs (release)" >&2
cargo build --release -q -p medidocs
bin="${CARGO_TARGET_DIR:-$(pwd)/target}/release/medidocs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> generating $n mixed scans" >&2
python3 - "$work/scans" "$n" <<'EOF'
import os, random, sys
from PIL import Image, ImageDraw, ImageFilter, ImageFont
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = random.Random(11)
font = ImageFont.load_default(size=26)
words = ["Blood pressure 128/82", "Amoxicillin 500 mg", "Follow-up in 6 weeks", "HbA1c 6.9 %",
         "Referral to cardiology", "No known allergies", "Chest X-ray clear", "Vitamin D low"]
def page(i, p):
    img = Image.new("L", (1240, 900), 255)
    d = ImageDraw.Draw(img)
    d.text((60, 50), f"Record {i:05d} page {p}", font=font, fill=0)
    for k in range(6):
        d.text((60, 130 + 110 * k), rng.choice(words), font=font, fill=0)
    return img.rotate(rng.uniform(-1.5, 1.5), fillcolor=255)
for i in range(n):
    kind = i % 10
    if kind < 4:    # a phone photo of a letter
        img = page(i, 1).convert("RGB").filter(ImageFilter.GaussianBlur(0.6))
        img.save(os.path.join(out, f"r{i:05d}.jpg"), quality=85)
    elif kind < 7:  # a two-page fax, Group 4
        pages = [page(i, p).point(lambda v: 255 if v > 150 else 0).convert("1") for p in (1, 2)]
        pages[0].save(os.path.join(out, f"r{i:05d}.tif"), compression="group4", save_all=True,
                      append_images=pages[1:], dpi=(200, 200))
    else:           # a scanned PDF of one or two pages
        pages = [page(i, p).convert("RGB") for p in range(1, 2 + (i % 2))]
        pages[0].save(os.path.join(out, f"r{i:05d}.pdf"), save_all=True, append_images=pages[1:],
                      resolution=150)
EOF
bytes=$(du -sb "$work/scans" | cut -f1)
pages=$(python3 - "$work/scans" <<'EOF'
import os, sys
t = 0
for f in os.listdir(sys.argv[1]):
    t += 1 if f.endswith(".jpg") else 2 if f.endswith(".tif") else (1 + int(f[1:6]) % 2)
print(t)
EOF
)

measure() { # label, command... ; prints: wall_s user_s sys_s max_rss_kb
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.$label" "$@" >/dev/null 2>"$work/err.$label" \
    || { tail -5 "$work/err.$label" >&2; exit 1; }
}

echo "==> medidocs import ($n files, $pages pages, $((bytes / 1024 / 1024)) MiB)" >&2
measure import "$bin" --data-dir "$work/d1" import "$work/scans" --patient p-bench --quiet \
  --report "$work/report.csv"
read -r iw iu is irss <"$work/time.import"

echo "==> a sequential loop of medidocs run, one process per file" >&2
loop_start=$(date +%s.%N)
maxrss=0; user=0; sys=0
for f in "$work"/scans/*; do
  measure one "$bin" --data-dir "$work/d2" run "$f" --patient p-bench
  read -r _ u s rss <"$work/time.one"
  user=$(python3 -c "print($user + $u)"); sys=$(python3 -c "print($sys + $s)")
  [ "$rss" -gt "$maxrss" ] && maxrss=$rss
done
lw=$(python3 -c "import time; print(round(time.time() - $loop_start, 2))")

cores=$(nproc)
python3 - "$n" "$pages" "$cores" "$iw" "$iu" "$is" "$irss" "$lw" "$user" "$sys" "$maxrss" <<'EOF'
import sys
n, pages, cores = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
iw, iu, is_, irss, lw, lu, ls, lrss = map(float, sys.argv[4:])
def row(name, w, u, s, rss):
    return f"| {name} | {w:.0f} | {n / w * 60:.0f} | {pages / w * 60:.0f} | {(u + s) / w / cores * 100:.0f} % | {rss / 1024:.0f} |"
print(f"{n} files ({pages} pages); {cores} cores")
print()
print("| method | wall s | documents/min | pages/min | CPU use of the cores | peak RSS MiB |")
print("|---|---|---|---|---|---|")
print(row("medidocs import", iw, iu, is_, irss))
print(row("loop of medidocs run", lw, lu, ls, lrss))
print()
print(f"import is {lw / iw:.2f}x the loop's throughput")
EOF
