#!/usr/bin/env python3
"""Media benchmark: the same work on the same inputs with medidocs, libvips and Pillow.

The work, per image or PDF page: decode, apply the EXIF orientation, then the pipeline's
three renditions: thumb (longest side 256, Lanczos, WebP q75), preview (longest side 1600,
Lanczos, JPEG q82) and the OCR image (8-bit grey, full size, PNG with fast deflate and
adaptive row filters). Each tool does it the fastest way it documents:

  medidocs  `medidocs renditions` (the pipeline's own code): one decode feeds all three.
  libvips   pyvips over Debian's libvips: `thumbnail` (shrink-on-load) for the preview, the
            thumb from the preview, a sequential full load for the OCR image; the
            operation cache off, so repetitions redo the work.
  Pillow    one decode, `reducing_gap=3` for the preview, the thumb from the preview.

Modes: "1 core" is one worker process pinned to CPU 0 (libvips with VIPS_CONCURRENCY=1);
"2 cores" is two such workers, one per CPU, side by side. Each worker repeats its input;
the first round warms up and is not counted. Latency is the median time of one image or
page, from reading the file to the three files written; throughput is source megapixels
per second of processing; peak RSS is the worker's maximum resident set (wait4).

usage: bench-media.py run MEDIDOCS_BIN INPUT_DIR [ROUNDS]       (prints the report)
       bench-media.py worker vips|pillow ROUNDS OUT_DIR FILE   (used by run)
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def fit(w, h, longest):
    m = max(w, h)
    if m <= longest:
        return max(w, 1), max(h, 1)
    s = longest / m
    return (min(max(round(w * s), 1), longest), min(max(round(h * s), 1), longest))


# ---------------------------------------------------------------- workers

def worker_pillow(path, out, stem):
    from PIL import Image, ImageOps

    started = time.perf_counter()
    im = Image.open(path)
    ImageOps.exif_transpose(im, in_place=True)
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        im = flat
    elif im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    preview = rgb.resize(fit(*rgb.size, 1600), Image.LANCZOS, reducing_gap=3.0)
    preview.save(f"{out}/{stem}-p1-preview.jpg", quality=82)
    preview.resize(fit(*preview.size, 256), Image.LANCZOS).save(
        f"{out}/{stem}-p1-thumb.webp", quality=75)
    im.convert("L").save(f"{out}/{stem}-p1-ocr.png", compress_level=1)
    w, h = im.size
    yield 1, w * h / 1e6, (time.perf_counter() - started) * 1000


def worker_vips(path, out, stem):
    import pyvips

    pdf = path.endswith(".pdf")
    pages = pyvips.Image.new_from_file(path).get("n-pages") if pdf else 1
    started = time.perf_counter()
    for i in range(pages):
        load = {"page": i, "dpi": 300} if pdf else {}
        source = f"{path}[page={i},dpi=300]" if pdf else path
        preview = pyvips.Image.thumbnail(source, 1600, height=1600, size="down")
        if preview.hasalpha():
            preview = preview.flatten(background=[255, 255, 255])
        preview = preview.copy_memory()  # small; both the JPEG and the thumb read it
        preview.jpegsave(f"{out}/{stem}-p{i + 1}-preview.jpg", Q=82, strip=True)
        preview.thumbnail_image(256, height=256, size="down").webpsave(
            f"{out}/{stem}-p{i + 1}-thumb.webp", Q=75, strip=True)
        full = pyvips.Image.new_from_file(path, access="sequential", **load)
        if full.get_typeof("orientation") and full.get("orientation") > 1:
            # Turning needs the whole image: libvips' documented way is a random-access load.
            full = pyvips.Image.new_from_file(path).autorot()
        if full.hasalpha():
            full = full.flatten(background=[255, 255, 255])
        full.colourspace("b-w").pngsave(f"{out}/{stem}-p{i + 1}-ocr.png", compression=1,
                                        filter="all", strip=True)
        now = time.perf_counter()
        yield i + 1, full.width * full.height / 1e6, (now - started) * 1000
        started = now


def worker(tool, rounds, out, path):
    if tool == "vips":
        import pyvips
        pyvips.cache_set_max(0)
        pyvips.cache_set_max_mem(0)
    fn = {"vips": worker_vips, "pillow": worker_pillow}[tool]
    stem = os.path.splitext(os.path.basename(path))[0]
    for _ in range(rounds):
        for page, mp, ms in fn(path, out, stem):
            print(json.dumps({"file": path, "page": page, "megapixels": mp, "ms": ms}),
                  flush=True)


# ---------------------------------------------------------------- driver

INPUTS = [
    ("phone-12mp.jpg", "12 MP phone JPEG (EXIF-rotated)", "jpeg"),
    ("camera-24mp.jpg", "24 MP JPEG", "jpeg"),
    ("scan-a4.png", "A4 300 dpi scan, PNG", "scan"),
    ("scan-a4.tif", "A4 300 dpi scan, TIFF (LZW)", "scan"),
    ("letter-10p.pdf", "10-page PDF at 300 dpi", "pdf"),
]
TOOLS = ["medidocs", "libvips", "Pillow"]


def command(tool, medidocs, rounds, out, path):
    if tool == "medidocs":
        return [medidocs, "renditions", "--json", "--repeat", str(rounds), "--out", out, path]
    return [sys.executable, os.path.abspath(__file__), "worker",
            "vips" if tool == "libvips" else "pillow", str(rounds), out, path]


def run_workers(tool, medidocs, rounds, path, cpus):
    """Runs one worker per CPU in `cpus` at once; returns ([per-page rows...], peak KiB)."""
    env = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1")
    procs = []
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as t:
        for cpu in cpus:
            out = os.path.join(t, f"w{cpu}")
            os.makedirs(out)
            cmd = ["taskset", "-c", str(cpu)] + command(tool, medidocs, rounds, out, path)
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env))
        results, peak = [], 0
        for p in procs:
            stdout = p.stdout.read()
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                sys.exit(f"{tool} failed on {path} (exit {p.returncode})")
            rows = [json.loads(line) for line in stdout.splitlines() if line.strip()]
            results.append(rows)
            peak = max(peak, usage.ru_maxrss)
        sizes = {}
        out0 = os.path.join(t, f"w{cpus[0]}")
        for name in os.listdir(out0):
            kind = name.rsplit("-", 1)[1].split(".")[0]
            sizes[kind] = sizes.get(kind, 0) + os.path.getsize(os.path.join(out0, name))
    return results, peak, sizes


def measure(tool, medidocs, rounds, path):
    one, peak1, sizes = run_workers(tool, medidocs, rounds + 1, path, [0])
    rows = one[0]
    per_round = len(rows) // (rounds + 1)
    timed = rows[per_round:]  # the first round warms up
    latency = statistics.median(r["ms"] for r in timed)
    mp = sum(r["megapixels"] for r in timed)
    mps1 = mp / (sum(r["ms"] for r in timed) / 1000)
    two, peak2, _ = run_workers(tool, medidocs, rounds + 1, path, [0, 1])
    mps2 = 0.0
    for rows in two:
        timed = rows[per_round:]
        mps2 += sum(r["megapixels"] for r in timed) / (sum(r["ms"] for r in timed) / 1000)
    return {
        "latency_ms": latency,
        "mps1": mps1,
        "mps2": mps2,
        "peak_mib": max(peak1, peak2) / 1024,
        "peak1_mib": peak1 / 1024,
        "page_mp": max(r["megapixels"] for r in rows),
        "pages": per_round,
        "sizes": {k: v / per_round for k, v in sizes.items()},
    }


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import PIL
    import pyvips
    from PIL import features
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}; "
            f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} "
            f"(Debian), Pillow {PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, "
            f"libwebp {features.version('webp')}, zlib {features.version('zlib')})")


def driver(medidocs, inputs, rounds):
    print(f"machine: {machine()}")
    print(f"rounds: {rounds} timed per worker, after one warm-up round\n")
    table = []
    for name, label, kind in INPUTS:
        path = os.path.join(inputs, name)
        for tool in TOOLS:
            if tool == "Pillow" and kind == "pdf":
                continue
            r = measure(tool, medidocs, rounds, path)
            r.update(tool=tool, input=label, kind=kind)
            table.append(r)
            print(f"  {label:34} {tool:9} {r['latency_ms']:7.0f} ms  {r['mps1']:6.1f} MP/s  "
                  f"{r['mps2']:6.1f} MP/s (2 cores)  {r['peak_mib']:6.0f} MiB", file=sys.stderr)
    print("| input | tool | latency per image or page (1 core) | MP/s, 1 core | MP/s, 2 cores "
          "| peak RSS | output: thumb / preview / OCR |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in table:
        s = r["sizes"]
        print(f"| {r['input']} | {r['tool']} | {r['latency_ms']:.0f} ms | {r['mps1']:.1f} | "
              f"{r['mps2']:.1f} | {r['peak_mib']:.0f} MiB | {s.get('thumb', 0) / 1e3:.0f} kB / "
              f"{s.get('preview', 0) / 1e3:.0f} kB / {s.get('ocr', 0) / 1e6:.2f} MB |")
    print("\nRatios (medidocs against each reference; throughput ratios > 1 and time ratios "
          "< 1 favour medidocs):\n")
    print("| input | throughput vs Pillow, 1 core | vs Pillow, 2 cores | time vs libvips, 1 core "
          "| time vs libvips, 2 cores | medidocs peak RSS | budget 4 B/px + 64 MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, label, kind in INPUTS:
        rows = {r["tool"]: r for r in table if r["input"] == label}
        m, v, p = rows["medidocs"], rows["libvips"], rows.get("Pillow")
        vs_p1 = f"{m['mps1'] / p['mps1']:.2f}×" if p else "–"
        vs_p2 = f"{m['mps2'] / p['mps2']:.2f}×" if p else "–"
        budget = 4 * m["page_mp"] * 1e6 / 2**20 + 64
        verdict = "within" if m["peak1_mib"] <= budget else "OVER"
        print(f"| {label} | {vs_p1} | {vs_p2} | {m['latency_ms'] / v['latency_ms']:.2f}× | "
              f"{v['mps2'] / m['mps2']:.2f}× | "
              f"{m['peak1_mib']:.0f} MiB | {budget:.0f} MiB ({verdict}) |")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif len(sys.argv) >= 4 and sys.argv[1] == "run":
        driver(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
