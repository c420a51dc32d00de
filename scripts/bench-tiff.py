#!/usr/bin/env python3
"""TIFF decoding: medidocs against libtiff on the same inputs, in one run (scripts/bench-tiff.sh).

    bench-tiff.py MEDIDOCS_BIN WORK_DIR ROUNDS

WORK_DIR holds scan-a4.tif (scripts/make-bench-images.py: a 2480x3508 colour scan, LZW).
From it the layouts are made with libtiff's tiffcp and ImageMagick; each is decoded to
uncompressed RGBA by `medidocs renditions --pixels` (one process, the file repeated) and by
`tiff2rgba -c none` (one process per round: its start-up is about a millisecond). Both run
pinned to one CPU. Median of ROUNDS after one warm-up. Markdown on stdout.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

PIN = ["taskset", "-c", "0"] if shutil.which("taskset") else []
CONVERT = shutil.which("convert-im6.q16") or "convert"


def run(cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def layouts(work):
    src = os.path.join(work, "scan-a4.tif")
    made = []

    def tiffcp(name, *opts):
        out = os.path.join(work, name)
        run(["tiffcp", *opts, src, out])
        made.append((name, " ".join(["tiffcp", *opts])))

    tiffcp("none.tif", "-c", "none")
    made.append(("lzw.tif", "Pillow, LZW (the scan as made)"))
    shutil.copy(src, os.path.join(work, "lzw.tif"))
    tiffcp("lzw-predictor.tif", "-c", "lzw:2")
    tiffcp("deflate.tif", "-c", "zip:2")
    tiffcp("packbits.tif", "-c", "packbits")
    tiffcp("jpeg-ycbcr.tif", "-c", "jpeg:90", "-r", "16")
    tiffcp("tiled-lzw.tif", "-c", "lzw", "-t", "-w", "256", "-l", "256")
    tiffcp("planar-lzw.tif", "-c", "lzw", "-p", "separate")
    grey = os.path.join(work, "grey.tif")
    run([CONVERT, src, "-colorspace", "Gray", "-compress", "lzw", grey])
    made.append(("grey.tif", "ImageMagick -colorspace Gray, LZW"))
    run([CONVERT, src, "-dither", "None", "-colors", "16", "-type", "Palette",
         "-compress", "lzw", os.path.join(work, "palette.tif")])
    made.append(("palette.tif", "ImageMagick 16-colour palette, LZW"))
    bilevel = os.path.join(work, "bilevel.tif")
    run([CONVERT, src, "-colorspace", "Gray", "-threshold", "60%", "-type", "Bilevel",
         "-depth", "1", "-compress", "none", bilevel])
    for name, opts in [("fax-g4.tif", ["-c", "g4"]), ("fax-g3-2d.tif", ["-c", "g3:2d:fill"])]:
        run(["tiffcp", *opts, bilevel, os.path.join(work, name)])
        made.append((name, "tiffcp " + " ".join(opts) + " (bilevel)"))
    return made


def time_medidocs(binary, path, out, rounds):
    r = subprocess.run(
        PIN + [binary, "renditions", "--pixels", "--json", "--repeat", str(rounds + 1),
               "--out", out, path],
        check=True, capture_output=True, text=True)
    ms = [json.loads(line)["ms"] for line in r.stdout.splitlines() if line.startswith("{")]
    return statistics.median(ms[1:])


def time_libtiff(path, out, rounds):
    times = []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        run(PIN + ["tiff2rgba", "-c", "none", path, os.path.join(out, "libtiff.tif")])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[1:])


def main():
    binary, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    rows = []
    for name, how in layouts(work):
        path = os.path.join(work, name)
        ours = time_medidocs(binary, path, out, rounds)
        ref = time_libtiff(path, out, rounds)
        size = os.path.getsize(path) / 1e6
        rows.append((name, how, size, ours, ref))
    print(f"A4 300 dpi scan, 2480×3508 (8.7 MP); median of {rounds} rounds after a warm-up; "
          "one core; decode to uncompressed RGBA.\n")
    print("| layout | made with | file | medidocs | libtiff (tiff2rgba) | time vs libtiff |")
    print("|---|---|---:|---:|---:|---:|")
    for name, how, size, ours, ref in rows:
        print(f"| {name} | {how} | {size:.1f} MB | {ours:.0f} ms | {ref:.0f} ms | "
              f"**{ours / ref:.2f}×** |")


if __name__ == "__main__":
    main()
