#!/usr/bin/env python3
"""Makes tests/corpus/tiff/: TIFF files in the layouts clinics' scanners, fax servers and
cameras write, each with libtiff's decoding of every page as the reference.

Nothing is downloaded. Two small pictures are drawn here (a colour chart with saturated
patches, black text-like bars and gradients, and a bilevel fax page lettered with the Vera
font that ships inside reportlab); every TIFF is one of them written by Debian's libtiff
tools (tiffcp), ImageMagick, Pillow, or by hand below (struct) where no tool writes the
layout: uncompressed subsampled YCbCr, old-style LZW, ThunderScan, old-style JPEG, a
1x65537 strip, and others.

    python3 scripts/make-tiff-corpus.py [OUT_DIR]   (default: tests/corpus/tiff)
    python3 scripts/make-tiff-corpus.py --check     regenerates into a temporary folder and
                                                    compares with tests/corpus/tiff

Writes OUT_DIR/<name>.tif, OUT_DIR/reference/<name>.p<page>.png (libtiff's tiff2rgba of
that page, as RGBA, or RGB where every pixel is opaque) and OUT_DIR/manifest.json.
Needs libtiff-tools and imagemagick (scripts/install-deps.sh --test installs them).
Deterministic: no randomness, no dates; the files only change when this script, or the
tools' versions, do. --check fails when the manifest or the list of files differs, and
reports (without failing) files whose bytes differ, as other tool versions may encode
the same pixels differently.
"""
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import reportlab
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "corpus", "tiff")
FONTS = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
# The product names these as unsupported even where libtiff reads them.
UNSUPPORTED = {
    "float": "floating-point samples",
}


def im_binary():
    """ImageMagick 6's convert; some machines put a stand-in called convert first on PATH."""
    for name in ("convert-im6.q16", "convert-im6", "convert"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("ImageMagick is missing: apt-get install imagemagick")


# ---------------------------------------------------------------- drawn sources

def font(size, bold=False):
    return ImageFont.truetype(os.path.join(FONTS, "VeraBd.ttf" if bold else "Vera.ttf"), size)


def hue(t):
    """A saturated colour for t in [0, 1): red, yellow, green, cyan, blue, magenta."""
    h = t * 6
    i, f = int(h) % 6, h - int(h)
    up, down = int(255 * f + 0.5), int(255 * (1 - f) + 0.5)
    return [(255, up, 0), (down, 255, 0), (0, 255, up), (0, down, 255), (up, 0, 255), (255, 0, down)][i]


def chart(w, h):
    """A colour chart: saturated patches, black text-like bars and a label, grey and hue ramps."""
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    patches = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 255, 255),
               (255, 0, 255), (255, 255, 0), (128, 128, 128), (0, 0, 0)]
    band = h * 35 // 100
    for i, c in enumerate(patches):
        d.rectangle((i * w // 8, 0, (i + 1) * w // 8 - 1, band - 1), fill=c)
    # Text-like bars: words of varying length on three lines, and a label in Vera Bold.
    y0, line_h = band + h // 30, max(3, h // 24)
    for line in range(3):
        x = w // 20
        for k in range(12):
            word = w // 40 + (k * 7 + line * 5) % (w // 12 + 1)
            if x + word > w * 55 // 100:
                break
            d.rectangle((x, y0 + line * line_h * 2, x + word, y0 + line * line_h * 2 + line_h - 1), fill=(0, 0, 0))
            x += word + max(2, w // 50)
    d.text((w * 60 // 100, band + h // 40), "Rx 42", font=font(max(8, h // 8), True), fill=(0, 0, 0))
    grey_top, hue_top = h * 70 // 100, h * 85 // 100
    for x in range(w):
        v = round(255 * x / (w - 1))
        d.line((x, grey_top, x, hue_top - 1), fill=(v, v, v))
        d.line((x, hue_top, x, h - 1), fill=hue(x / w))
    return img


def with_alpha(img):
    """The chart with an alpha channel: opaque left half, a ramp, and a transparent block."""
    w, h = img.size
    alpha = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(alpha)
    for x in range(w // 2, w):
        d.line((x, 0, x, h - 1), fill=255 - round(255 * (x - w // 2) / (w - w // 2)))
    d.rectangle((w // 8, h * 70 // 100, w * 3 // 8, h - 1), fill=0)
    out = img.convert("RGBA")
    out.putalpha(alpha)
    return out


def fax_page(lines, size=(864, 480)):
    """A bilevel fax page (1 bit, white paper) lettered with Vera."""
    img = Image.new("L", size, 255)
    d = ImageDraw.Draw(img)
    y = 28
    for i, line in enumerate(lines):
        d.text((40, y), line, font=font(30 if i == 0 else 22, i == 0), fill=0)
        y += 56 if i == 0 else 36
    d.rectangle((40, size[1] - 40, size[0] - 40, size[1] - 36), fill=0)
    return img.point(lambda v: 255 if v > 128 else 0).convert("1")


FAX_1 = ["FAX  Harbour Clinic",
         "To: Riverside Pharmacy, fax 555 0142",
         "Re: repeat prescription for Orla Invented",
         "Metformin 500 mg tablets, one twice daily",
         "Ramipril 2.5 mg once daily",
         "Please dispense 28 days and confirm by fax.",
         "Dr. Padraig Madeup"]
FAX_2 = ["FAX  Lakeside Laboratory",
         "Results for Declan Pretend, ref LAB-0000-1187",
         "Sodium 139 mmol/L    Potassium 4.6 mmol/L",
         "Creatinine 88 umol/L   eGFR above 60",
         "HbA1c 52 mmol/mol (raised)",
         "Comment: repeat HbA1c in three months."]


# ---------------------------------------------------------------- hand-written TIFF

TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 11: 4, 12: 8, 16: 8}
TYPE_FMT = {1: "B", 2: "B", 3: "H", 4: "I", 11: "f", 12: "d", 16: "Q"}
BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5


def write_tiff(path, pages, order="<", big=False):
    """Writes pages, each (tags, chunks, offsets_tag, counts_tag, refs): tags maps a tag to
    (type, values); chunks are the strips' (or tiles') bytes, whose offsets and byte counts
    become offsets_tag and counts_tag; refs maps a further tag to the index of the chunk
    whose offset it holds (old-style JPEG's JPEGInterchangeFormat)."""
    out = bytearray()
    if big:
        out += (b"II" if order == "<" else b"MM") + struct.pack(order + "HHHQ", 43, 8, 0, 0)
    else:
        out += (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 0)
    link_at = 8 if big else 4  # where the previous "next IFD" offset is written
    for tags, chunks, offsets_tag, counts_tag, refs in pages:
        offsets = []
        for c in chunks:
            out += b"\0" * (len(out) & 1)
            offsets.append(len(out))
            out += c
        tags = dict(tags)
        tags[offsets_tag] = (LONG, offsets)
        tags[counts_tag] = (LONG, [len(c) for c in chunks])
        for tag, index in (refs or {}).items():
            tags[tag] = (LONG, [offsets[index]])
        out += b"\0" * (len(out) & 1)
        ifd = len(out)
        struct.pack_into(order + ("Q" if big else "I"), out, link_at, ifd)
        entry, inline = (20, 8) if big else (12, 4)
        n = len(tags)
        head = 8 if big else 2
        extra_at = ifd + head + n * entry + (8 if big else 4)
        body, extra = bytearray(), bytearray()
        body += struct.pack(order + ("Q" if big else "H"), n)
        for tag in sorted(tags):
            typ, values = tags[tag]
            if typ == ASCII:
                raw = values.encode() + b"\0"
                count = len(raw)
            elif typ == RATIONAL:
                raw = b"".join(struct.pack(order + "II", *v) for v in values)
                count = len(values)
            else:
                raw = struct.pack(order + TYPE_FMT[typ] * len(values), *values)
                count = len(values)
            body += struct.pack(order + ("HHQ" if big else "HHI"), tag, typ, count)
            if len(raw) <= inline:
                body += raw + b"\0" * (inline - len(raw))
            else:
                extra += b"\0" * (len(extra) & 1)
                body += struct.pack(order + ("Q" if big else "I"), extra_at + len(extra))
                extra += raw
        link_at = ifd + len(body)
        body += b"\0" * (8 if big else 4)
        out += body + extra
    with open(path, "wb") as f:
        f.write(bytes(out))


def base_tags(w, h, bits, photometric, spp, compression, rows, planar=1):
    return {256: (LONG, [w]), 257: (LONG, [h]), 258: (SHORT, bits), 259: (SHORT, [compression]),
            262: (SHORT, [photometric]), 277: (SHORT, [spp]), 278: (LONG, [rows]),
            282: (RATIONAL, [(150, 1)]), 283: (RATIONAL, [(150, 1)]), 284: (SHORT, [planar]),
            296: (SHORT, [2])}


def strips(raw, row_bytes, h, rows):
    return [raw[y * row_bytes:min(h, y + rows) * row_bytes] for y in range(0, h, rows)]


def ycbcr_uncompressed(img, path, hs, vs):
    """Uncompressed YCbCr with chroma subsampling hs x vs, as cameras wrote TIFF: each data
    unit is hs*vs luma samples then one Cb and one Cr (full-range JPEG coefficients)."""
    w, h = img.size
    px = img.load()
    rows = 8 * vs
    chunks = []
    for top in range(0, h, rows):
        unit = bytearray()
        for by in range(top, min(h, top + rows), vs):
            for bx in range(0, w, hs):
                ys, cbs, crs = [], [], []
                for dy in range(vs):
                    for dx in range(hs):
                        # Past the right or bottom edge the last column or row repeats.
                        r, g, b = px[min(bx + dx, w - 1), min(by + dy, h - 1)]
                        ys.append(round(0.299 * r + 0.587 * g + 0.114 * b))
                        if bx + dx < w and by + dy < h:
                            cbs.append(-0.168736 * r - 0.331264 * g + 0.5 * b + 128)
                            crs.append(0.5 * r - 0.418688 * g - 0.081312 * b + 128)
                cb = min(255, max(0, round(sum(cbs) / len(cbs))))
                cr = min(255, max(0, round(sum(crs) / len(crs))))
                unit += bytes(min(255, max(0, v)) for v in ys) + bytes((cb, cr))
        chunks.append(bytes(unit))
    tags = base_tags(w, h, [8, 8, 8], 6, 3, 1, rows)
    tags[529] = (RATIONAL, [(299, 1000), (587, 1000), (114, 1000)])  # YCbCrCoefficients
    tags[530] = (SHORT, [hs, vs])                                    # YCbCrSubSampling
    tags[531] = (SHORT, [1])                                         # YCbCrPositioning: centred
    tags[532] = (RATIONAL, [(0, 1), (255, 1), (128, 1), (255, 1), (128, 1), (255, 1)])
    write_tiff(path, [(tags, chunks, 273, 279, None)])


def lzw_old_style(data):
    """LZW as libtiff wrote it before 5.0 (its "compat" decoder still reads it): codes
    packed least significant bit first, and the code width grows one code later than in
    TIFF 6.0 LZW. Starts with Clear, so libtiff recognises the old style."""
    out, acc, nacc = bytearray(), 0, 0
    state = {"free": 258, "bits": 9, "first": True}

    def emit(code):
        nonlocal acc, nacc
        acc |= code << nacc
        nacc += state["bits"]
        while nacc >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nacc -= 8
        if code in (256, 257):
            return
        # The decoder adds a table entry for every code but the first after a Clear, and
        # widens once its next free entry exceeds the widest code of the current width.
        if state["first"]:
            state["first"] = False
        else:
            state["free"] += 1
            if state["free"] > (1 << state["bits"]) - 1:
                state["bits"] = min(12, state["bits"] + 1)

    def clear():
        emit(256)
        state.update(free=258, bits=9, first=True)

    clear()
    table = {bytes([i]): i for i in range(256)}
    next_code, w = 258, b""
    for byte in data:
        wk = w + bytes([byte])
        if wk in table:
            w = wk
            continue
        emit(table[w])
        table[wk] = next_code
        next_code += 1
        w = bytes([byte])
        if next_code >= 4093:
            emit(table[w])
            clear()
            table = {bytes([i]): i for i in range(256)}
            next_code, w = 258, b""
    if w:
        emit(table[w])
    emit(257)
    if nacc:
        out.append(acc & 0xFF)
    return bytes(out)


def old_lzw(img, path):
    w, h = img.size
    raw = img.tobytes()
    rows = 40
    chunks = [lzw_old_style(s) for s in strips(raw, w * 3, h, rows)]
    write_tiff(path, [(base_tags(w, h, [8, 8, 8], 2, 3, 5, rows), chunks, 273, 279, None)])


def thunder_row(values):
    """One row of 4-bit pixels in ThunderScan's byte codes: runs of the last pixel, 2-bit
    and 3-bit deltas, raw pixels. The row never ends in a run (libtiff's decoder drops a
    run that ends exactly at the row's end)."""
    out, last, i, n = bytearray(), 0, 0, len(values)
    d2 = {0: 0, 1: 1, -1: 3}
    d3 = {0: 0, 1: 1, 2: 2, 3: 3, -3: 5, -2: 6, -1: 7}
    while i < n:
        run = 0
        while i + run < n - 1 and values[i + run] == last and run < 63:
            run += 1
        if run >= 2:
            out.append(run)
            i += run
            continue
        if i + 3 <= n:
            a, b, c = values[i:i + 3]
            if a - last in d2 and b - a in d2 and c - b in d2:
                out.append(0x40 | d2[a - last] << 4 | d2[b - a] << 2 | d2[c - b])
                last, i = c, i + 3
                continue
        if i + 2 <= n:
            a, b = values[i:i + 2]
            if a - last in d3 and b - a in d3:
                out.append(0x80 | d3[a - last] << 3 | d3[b - a])
                last, i = b, i + 2
                continue
        out.append(0xC0 | values[i])
        last, i = values[i], i + 1
    return bytes(out)


def thunderscan(grey, path):
    w, h = grey.size
    levels = [v * 15 // 255 for v in grey.tobytes()]
    rows = 30
    chunks = []
    for top in range(0, h, rows):
        chunks.append(b"".join(thunder_row(levels[y * w:(y + 1) * w]) for y in range(top, min(h, top + rows))))
    write_tiff(path, [(base_tags(w, h, [4], 1, 1, 32809, rows), chunks, 273, 279, None)])
    return Image.frombytes("L", (w, h), bytes(v * 17 for v in levels))


def old_jpeg(img, path):
    """Compression 6 (old-style JPEG, TIFF 5.0) as camera firmware wrote it: a whole JFIF
    stream in one strip, also named by JPEGInterchangeFormat."""
    w, h = img.size
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, subsampling=2, optimize=False)
    tags = base_tags(w, h, [8, 8, 8], 6, 3, 6, h)
    tags[512] = (SHORT, [1])                   # JPEGProc: baseline
    tags[514] = (LONG, [len(buf.getvalue())])  # JPEGInterchangeFormatLength
    tags[530] = (SHORT, [2, 2])
    write_tiff(path, [(tags, [buf.getvalue()], 273, 279, {513: 0})])


def tall_strip(path):
    """One column, 65537 rows, one uncompressed strip: more rows than 16 bits count."""
    h = 65537
    raw = bytes((y * 7 + (y >> 8)) & 0xFF if y % 4096 else 0 for y in range(h))
    write_tiff(path, [(base_tags(1, h, [8], 1, 1, 1, h), [raw], 273, 279, None)])
    return Image.frombytes("L", (1, h), raw)


def palette_tiff(img, path, bits):
    """A palette image of 2**bits colours, packed bits per pixel, uncompressed."""
    w, h = img.size
    q = img.quantize(colors=1 << bits, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal = (q.getpalette() or []) + [0] * 768
    idx = q.tobytes()
    row_bytes = (w * bits + 7) // 8
    raw = bytearray()
    for y in range(h):
        acc, n, row = 0, 0, bytearray()
        for x in range(w):
            acc = acc << bits | idx[y * w + x]
            n += bits
            if n == 8:
                row.append(acc)
                acc, n = 0, 0
        if n:
            row.append(acc << (8 - n))
        raw += row
    tags = base_tags(w, h, [bits], 3, 1, 1, 32)
    size = 1 << bits
    tags[320] = (SHORT, [pal[3 * i + c] * 257 for c in range(3) for i in range(size)])
    write_tiff(path, [(tags, strips(bytes(raw), row_bytes, h, 32), 273, 279, None)])
    return q.convert("RGB")


def grey_min_is_white(grey, path):
    """8-bit grey stored white-is-zero (PhotometricInterpretation 0), as some scanners do."""
    w, h = grey.size
    raw = bytes(255 - v for v in grey.tobytes())
    write_tiff(path, [(base_tags(w, h, [8], 0, 1, 1, 40), strips(raw, w, h, 40), 273, 279, None)])


def rgb_extra_unspecified(img, path):
    """RGB with a fourth sample declared ExtraSamples=0 (unspecified): not alpha by the
    specification, though libtiff's RGBA reader takes it for associated alpha; it is 255
    everywhere so both readings give the same picture."""
    w, h = img.size
    rgb = img.tobytes()
    raw = bytearray()
    for i in range(w * h):
        raw += rgb[3 * i:3 * i + 3] + b"\xff"
    tags = base_tags(w, h, [8, 8, 8, 8], 2, 4, 1, 20)
    tags[338] = (SHORT, [0])
    write_tiff(path, [(tags, strips(bytes(raw), w * 4, h, 20), 273, 279, None)])


def float_xyz(img, path):
    """CIE XYZ as 32-bit floats with PhotometricInterpretation LogLuv, uncompressed: the
    input tiffcp needs to write SGILog."""
    w, h = img.size
    lin = [((v / 255) / 12.92 if v <= 10 else ((v / 255 + 0.055) / 1.055) ** 2.4) for v in range(256)]
    rgb = img.tobytes()
    raw = bytearray()
    for i in range(w * h):
        r, g, b = (lin[v] for v in rgb[3 * i:3 * i + 3])
        raw += struct.pack("<fff", 0.4124 * r + 0.3576 * g + 0.1805 * b,
                           0.2126 * r + 0.7152 * g + 0.0722 * b,
                           0.0193 * r + 0.1192 * g + 0.9505 * b)
    tags = base_tags(w, h, [32, 32, 32], 32844, 3, 1, 16)
    tags[339] = (SHORT, [3, 3, 3])
    write_tiff(path, [(tags, strips(bytes(raw), w * 12, h, 16), 273, 279, None)])


# ---------------------------------------------------------------- reading back

def pages_of(path):
    """The number of IFDs, read from the file's own chain (any byte order, classic or Big)."""
    with open(path, "rb") as f:
        data = f.read()
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    off = struct.unpack(order + "Q", data[8:16])[0] if big else struct.unpack(order + "I", data[4:8])[0]
    n, seen = 0, set()
    while off and off not in seen:
        seen.add(off)
        n += 1
        if big:
            count = struct.unpack(order + "Q", data[off:off + 8])[0]
            off = struct.unpack(order + "Q", data[off + 8 + 20 * count:off + 16 + 20 * count])[0]
        else:
            count = struct.unpack(order + "H", data[off:off + 2])[0]
            off = struct.unpack(order + "I", data[off + 2 + 12 * count:off + 6 + 12 * count])[0]
    return n


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def libtiff_pages(path, work):
    """libtiff's RGBA for each page (tiff2rgba), or (None, error) for the first page it
    cannot decode."""
    n = pages_of(path)
    if n == 1:
        singles = [path]
    else:
        split = os.path.join(work, "split")
        shutil.rmtree(split, ignore_errors=True)
        os.makedirs(split)
        r = run(["tiffsplit", path, os.path.join(split, "p")], work)
        singles = sorted(os.path.join(split, f) for f in os.listdir(split))
        if r.returncode or len(singles) != n:
            return None, "tiffsplit: " + r.stderr.strip()
    images = []
    for single in singles:
        try:
            with Image.open(single) as src:
                grey_alpha = src.mode in ("LA", "La")
        except Exception:  # Pillow cannot read some of them; those are not grey+alpha
            grey_alpha = False
        rgba = os.path.join(work, "rgba.tif")
        r = run(["tiff2rgba", "-c", "none", single, rgba], work)
        if r.returncode or not os.path.exists(rgba):
            return None, (r.stderr.strip().splitlines() or ["tiff2rgba failed"])[-1]
        # tiff2rgba keeps the input's FillOrder, which bit-reverses its 8-bit output too;
        # tiffcp -f msb2lsb undoes that so that Pillow reads it.
        r = run(["tiffcp", "-f", "msb2lsb", "-c", "none", rgba, rgba + ".msb.tif"], work)
        if r.returncode:
            sys.exit(f"tiffcp: {r.stderr.strip()}")
        os.replace(rgba + ".msb.tif", rgba)
        if grey_alpha:
            # libtiff's RGBA reader copies grey+alpha as stored (straight), though its
            # output says the alpha is associated: marked unassociated, Pillow keeps it.
            r = run(["tiffset", "-s", "338", "1", "2", rgba], work)
            if r.returncode:
                sys.exit(f"tiffset: {r.stderr.strip()}")
        with Image.open(rgba) as im:
            im = im.convert("RGBA")  # Pillow un-premultiplies libtiff's associated alpha
            im.load()
        os.remove(rgba)
        images.append(im)
    return images, None


PILLOW_PROBE = """
import sys, warnings
from PIL import Image
warnings.simplefilter("ignore")
try:
    with Image.open(sys.argv[1]) as im:
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            im.load()
except Exception as e:  # any failure counts: the manifest only says whether it decodes
    print(f"{type(e).__name__}: {e}")
    sys.exit(1)
"""


def pillow_decodes(path):
    """Whether Pillow decodes every page, in a process of its own (its libtiff writes
    to standard error)."""
    r = run([sys.executable, "-c", PILLOW_PROBE, os.path.basename(path)], os.path.dirname(path))
    return r.returncode == 0, (r.stdout.strip() or r.stderr.strip()[-200:] or None) if r.returncode else None


def as_png(im, path):
    if im.getextrema()[3][0] == 255:
        im = im.convert("RGB")
    im.save(path, optimize=False, compress_level=9)


UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
          6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


# ---------------------------------------------------------------- the corpus

def build(out):
    work = tempfile.mkdtemp(prefix="tiff-corpus-")
    try:
        return _build(out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build(out, work):
    IM = im_binary()
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".tif") or f == "manifest.json":
            os.remove(os.path.join(out, f))
    for f in os.listdir(os.path.join(out, "reference")):
        os.remove(os.path.join(out, "reference", f))

    # Sources, written uncompressed by Pillow into the work folder.
    src = {
        "chart.tif": chart(160, 120),
        "chart-odd.tif": chart(101, 75),
        "fax.tif": fax_page(FAX_1),
        "fax2.tif": fax_page(FAX_2),
    }
    src["chart-grey.tif"] = src["chart.tif"].convert("L")
    src["chart-rgba.tif"] = with_alpha(src["chart.tif"])
    for name, img in src.items():
        img.save(os.path.join(work, name), compression="raw")

    manifest = []

    def tool(cmd):
        """Runs a tool in the work folder; cmd names files relative to it."""
        argv = [IM if a == "convert" else a for a in cmd.split()]
        r = run(argv, work)
        if r.returncode:
            sys.exit(f"{cmd}: {r.stderr.strip()}")
        return cmd

    def add(name, features, made_with, lossless=None, orientation=None, note=None):
        """Records work/<name>.tif: copies it out, makes its references, checks them
        against `lossless` (the picture it must decode to) when given."""
        path = os.path.join(work, name + ".tif")
        if os.environ.get("CORPUS_DEBUG"):
            print(name, file=sys.stderr)
        shutil.copyfile(path, os.path.join(out, name + ".tif"))
        decode_from = path
        if orientation:
            # tiff2rgba applies only the flip part of orientations 5 to 8 (it never swaps
            # rows and columns), so the reference is the stored raster (decoded with the
            # tag set to 1) plus the upright picture a viewer shows.
            decode_from = os.path.join(work, "stored.tif")
            shutil.copyfile(path, decode_from)
            tool("tiffset -s 274 1 stored.tif")
        images, error = libtiff_pages(decode_from, work)
        pillow, pillow_error = pillow_decodes(path)
        entry = {"file": name + ".tif", "pages": pages_of(path), "features": features,
                 "libtiff": images is not None, "pillow": pillow}
        unsupported = [UNSUPPORTED[f] for f in features if f in UNSUPPORTED]
        if images is None and not unsupported:
            unsupported = [f"{features[0]} (libtiff cannot decode it)"]
        if unsupported:
            entry["expect"] = "unsupported_type"
            entry["unsupported"] = unsupported[0]
        else:
            entry["expect"] = "ready"
        entry["made_with"] = made_with
        if note:
            entry["note"] = note
        if error:
            entry["libtiff_error"] = error.replace(decode_from, entry["file"])
        if pillow_error:
            entry["pillow_error"] = pillow_error
        if images is not None:
            entry["reference"] = []
            for i, im in enumerate(images, 1):
                ref = f"reference/{name}.p{i}.png"
                as_png(im, os.path.join(out, ref))
                entry["reference"].append(ref)
                if lossless is not None:
                    want = lossless[i - 1] if isinstance(lossless, list) else lossless
                    if im.convert(want.mode).tobytes() != want.tobytes():
                        sys.exit(f"{name}: libtiff's page {i} differs from the picture written")
            if orientation:
                entry["orientation"] = orientation
                up = images[0].transpose(UPRIGHT[orientation]) if orientation in UPRIGHT else images[0]
                ref = f"reference/{name}.p1.upright.png"
                as_png(up, os.path.join(out, ref))
                entry["upright"] = ref
                if up.convert("RGB").tobytes() != src["chart-odd.tif"].tobytes():
                    sys.exit(f"{name}: the upright picture is not the chart")
        manifest.append(entry)

    chart_rgb, odd = src["chart.tif"], src["chart-odd.tif"]
    grey, fax, fax2 = src["chart-grey.tif"], src["fax.tif"], src["fax2.tif"]

    # RGB, 8 bits, through tiffcp: compressions, predictor, planar, tiles, strips.
    for name, opts, feats in [
        ("rgb-none", "-c none", ["rgb", "uncompressed"]),
        ("rgb-lzw", "-c lzw", ["rgb", "lzw"]),
        ("rgb-lzw-predictor", "-c lzw:2", ["rgb", "lzw", "predictor-2"]),
        ("rgb-deflate", "-c zip", ["rgb", "deflate"]),
        ("rgb-deflate-predictor", "-c zip:2", ["rgb", "deflate", "predictor-2"]),
        ("rgb-packbits", "-c packbits", ["rgb", "packbits"]),
        ("rgb-planar-none", "-p separate -c none", ["rgb", "planar", "uncompressed"]),
        ("rgb-planar-lzw", "-p separate -c lzw", ["rgb", "planar", "lzw"]),
        ("rgb-strip-per-row", "-r 1 -c packbits", ["rgb", "strip-per-row", "packbits"]),
        ("rgb-big-endian", "-B -c lzw:2", ["rgb", "big-endian", "lzw", "predictor-2"]),
        ("rgb-bigtiff", "-8 -c zip", ["rgb", "bigtiff", "deflate"]),
        ("rgb-bigtiff-big-endian", "-8 -B -c lzw", ["rgb", "bigtiff", "big-endian", "lzw"]),
    ]:
        add(name, feats, tool(f"tiffcp {opts} chart.tif {name}.tif"), lossless=chart_rgb)
    for name, opts, feats in [
        ("rgb-tiled-deflate", "-t -w 32 -l 32 -c zip", ["rgb", "tiled", "deflate", "partial-tiles"]),
        ("rgb-tiled-planar-lzw", "-t -w 48 -l 32 -p separate -c lzw", ["rgb", "tiled", "planar", "lzw", "partial-tiles"]),
    ]:
        add(name, feats, tool(f"tiffcp {opts} chart-odd.tif {name}.tif"), lossless=odd)

    # JPEG in TIFF (TIFF 6.0, compression 7).
    add("rgb-jpeg-ycbcr", ["rgb", "jpeg", "ycbcr", "subsampled"], tool("tiffcp -r 16 -c jpeg:90 chart.tif rgb-jpeg-ycbcr.tif"))
    add("rgb-jpeg-rgb", ["rgb", "jpeg"], tool("tiffcp -r 16 -c jpeg:r:90 chart.tif rgb-jpeg-rgb.tif"))
    add("rgb-jpeg-tiled", ["rgb", "jpeg", "ycbcr", "subsampled", "tiled", "partial-tiles"],
        tool("tiffcp -t -w 32 -l 32 -c jpeg:90 chart-odd.tif rgb-jpeg-tiled.tif"))
    add("rgb-jpeg-strips-odd", ["rgb", "jpeg", "ycbcr", "subsampled", "odd-size"],
        tool("tiffcp -r 16 -c jpeg:90 chart-odd.tif rgb-jpeg-strips-odd.tif"))
    add("grey-jpeg", ["grey", "jpeg"], tool("tiffcp -r 16 -c jpeg:90 chart-grey.tif grey-jpeg.tif"))
    add("rgb-jpeg-imagemagick", ["rgb", "jpeg"], tool("convert chart.tif -compress jpeg -quality 90 rgb-jpeg-imagemagick.tif"))

    # Hand-written: uncompressed subsampled YCbCr, old-style LZW, old-style JPEG.
    ycbcr_uncompressed(chart_rgb, os.path.join(work, "ycbcr-2x2-none.tif"), 2, 2)
    add("ycbcr-2x2-none", ["ycbcr", "subsampled", "uncompressed"], "hand-written")
    ycbcr_uncompressed(chart_rgb, os.path.join(work, "ycbcr-2x1-none.tif"), 2, 1)
    add("ycbcr-2x1-none", ["ycbcr", "subsampled", "uncompressed"], "hand-written")
    ycbcr_uncompressed(odd, os.path.join(work, "ycbcr-2x2-odd-none.tif"), 2, 2)
    add("ycbcr-2x2-odd-none", ["ycbcr", "subsampled", "uncompressed", "odd-size"], "hand-written")
    old_lzw(chart_rgb, os.path.join(work, "rgb-old-lzw.tif"))
    add("rgb-old-lzw", ["rgb", "old-lzw"], "hand-written", lossless=chart_rgb)
    old_jpeg(chart_rgb, os.path.join(work, "rgb-old-jpeg.tif"))
    add("rgb-old-jpeg", ["old-jpeg", "ycbcr", "subsampled"], "hand-written")

    # Deeper samples, alpha, CMYK (ImageMagick).
    add("rgb-16bit-deflate", ["rgb", "16-bit", "deflate", "predictor-2"],
        tool("convert chart.tif -depth 16 -compress zip -define tiff:predictor=2 rgb-16bit-deflate.tif"))
    add("rgb-16bit-none-big-endian", ["rgb", "16-bit", "uncompressed", "big-endian"],
        tool("convert chart-odd.tif -depth 16 -compress none -define tiff:endian=msb rgb-16bit-none-big-endian.tif"))
    add("grey-8-lzw", ["grey", "lzw"], tool("tiffcp -c lzw chart-grey.tif grey-8-lzw.tif"), lossless=grey)
    add("grey-16-predictor", ["grey", "16-bit", "lzw", "predictor-2"],
        tool("convert chart-grey.tif -depth 16 -compress lzw -define tiff:predictor=2 grey-16-predictor.tif"))
    add("grey-4bit", ["grey", "4-bit", "packbits"], tool("convert chart-grey.tif -depth 4 -compress rle grey-4bit.tif"))
    grey_min_is_white(grey, os.path.join(work, "grey-min-is-white.tif"))
    add("grey-min-is-white", ["grey", "min-is-white", "uncompressed"], "hand-written", lossless=grey)
    add("grey-alpha", ["grey-alpha", "deflate"], tool("convert chart-rgba.tif -colorspace Gray -compress zip grey-alpha.tif"))
    add("rgba-unassociated", ["rgba", "unassociated-alpha", "lzw"],
        tool("convert chart-rgba.tif -alpha on -define tiff:alpha=unassociated -compress lzw rgba-unassociated.tif"))
    add("rgba-associated", ["rgba", "associated-alpha", "lzw"],
        tool("convert chart-rgba.tif -alpha on -define tiff:alpha=associated -compress lzw rgba-associated.tif"))
    src["chart-rgba.tif"].save(os.path.join(work, "rgba-pillow.tif"), compression="tiff_adobe_deflate")
    add("rgba-pillow", ["rgba", "unassociated-alpha", "deflate"],
        "Pillow: Image.save('rgba-pillow.tif', compression='tiff_adobe_deflate') of chart-rgba.tif")
    rgb_extra_unspecified(odd, os.path.join(work, "rgb-extra-sample.tif"))
    add("rgb-extra-sample", ["rgb", "extra-sample", "uncompressed"], "hand-written", lossless=odd)
    add("cmyk", ["cmyk", "lzw"], tool("convert chart.tif -colorspace CMYK -compress lzw cmyk.tif"))
    add("cmyk-alpha", ["cmyk-alpha", "lzw"], tool("convert chart-rgba.tif -colorspace CMYK -compress lzw cmyk-alpha.tif"),
        note="libtiff's RGBA reader ignores the alpha of CMYK: the reference is opaque")

    # Palettes of 1, 2, 4 and 8 bits.
    for bits in (1, 2, 4):
        name = f"palette-{bits}bit"
        want = palette_tiff(chart_rgb, os.path.join(work, name + ".tif"), bits)
        add(name, ["palette", f"{bits}-bit", "uncompressed"], "hand-written", lossless=want)
    add("palette-8bit-lzw", ["palette", "8-bit", "lzw"],
        tool("convert chart.tif -dither None -colors 200 -type Palette -compress lzw palette-8bit-lzw.tif"))
    add("palette-4bit-imagemagick", ["palette", "4-bit", "packbits"],
        tool("convert chart.tif -dither None -colors 16 -type Palette -compress rle palette-4bit-imagemagick.tif"))

    # Bilevel: fax compressions, bit orders, strips, tiles.
    for name, opts, feats in [
        ("fax-g4", "-c g4", ["bilevel", "g4"]),
        ("fax-g3-1d-one-strip", f"-c g3:1d -r {fax.height}", ["bilevel", "g3", "g3-1d", "one-strip"]),
        ("fax-g3-2d-one-strip", f"-c g3:2d -r {fax.height}", ["bilevel", "g3", "g3-2d", "one-strip"]),
        ("fax-g3-strip-per-row", "-c g3:1d -r 1", ["bilevel", "g3", "g3-1d", "strip-per-row"]),
        ("fax-g3-2d-fill", "-c g3:2d:fill", ["bilevel", "g3", "g3-2d", "eol-fill"]),
        ("fax-g4-fill-order-2", "-f lsb2msb -c g4", ["bilevel", "g4", "fill-order-2"]),
        ("fax-g3-fill-order-2", "-f lsb2msb -c g3:2d", ["bilevel", "g3", "g3-2d", "fill-order-2"]),
        ("fax-g4-tiled", "-t -w 256 -l 128 -c g4", ["bilevel", "g4", "tiled", "partial-tiles"]),
        ("fax-g4-big-endian", "-B -c g4", ["bilevel", "g4", "big-endian"]),
        ("fax-packbits", "-c packbits", ["bilevel", "packbits"]),
        ("fax-none-fill-order-2", "-f lsb2msb -c none", ["bilevel", "uncompressed", "fill-order-2"]),
    ]:
        add(name, feats, tool(f"tiffcp {opts} fax.tif {name}.tif"), lossless=fax)
    add("fax-g4-imagemagick", ["bilevel", "g4", "min-is-white"], tool("convert fax.tif -compress group4 fax-g4-imagemagick.tif"),
        lossless=fax)

    # Multi-page.
    add("multipage-mixed", ["multi-page", "rgb", "lzw", "g4", "bilevel", "palette", "grey", "16-bit", "predictor-2"],
        tool("tiffcp rgb-lzw.tif fax-g4.tif palette-2bit.tif grey-16-predictor.tif multipage-mixed.tif"))
    tool("tiffcp -c g3:2d fax.tif fax2.tif multipage-fax-g3.tif")
    add("multipage-fax-g3", ["multi-page", "bilevel", "g3", "g3-2d"], "tiffcp -c g3:2d fax.tif fax2.tif multipage-fax-g3.tif",
        lossless=[fax, fax2])

    # Orientation: the stored raster is the odd chart turned so that it displays upright.
    for o in range(1, 9):
        name = f"orientation-{o}"
        stored = odd.transpose(STORED[o]) if o in STORED else odd
        stored.save(os.path.join(work, name + ".src.tif"), compression="raw")
        tool(f"tiffcp -c lzw {name}.src.tif {name}.tif")
        tool(f"tiffset -s 274 {o} {name}.tif")
        add(name, ["rgb", "lzw", f"orientation-{o}"],
            f"tiffcp -c lzw {name}.src.tif {name}.tif && tiffset -s 274 {o} {name}.tif", lossless=stored, orientation=o)

    # A tall strip.
    want = tall_strip(os.path.join(work, "grey-1x65537.tif"))
    add("grey-1x65537", ["grey", "uncompressed", "tall", "one-strip"], "hand-written", lossless=want)

    # What a decoder may leave out.
    add("rgb-zstd", ["rgb", "zstd"], tool("tiffcp -c zstd chart.tif rgb-zstd.tif"), lossless=chart_rgb)
    add("rgb-webp", ["rgb", "webp"], tool("tiffcp -c webp chart.tif rgb-webp.tif"))
    float_xyz(chart_rgb, os.path.join(work, "xyz-float.tif"))
    add("logluv", ["logluv"], tool("tiffcp -c sgilog xyz-float.tif logluv.tif"),
        note="xyz-float.tif: the chart as CIE XYZ floats (hand-written)")
    want = thunderscan(grey, os.path.join(work, "grey-thunderscan.tif"))
    add("grey-thunderscan", ["grey", "4-bit", "thunderscan"], "hand-written", lossless=want)
    add("rgb-float", ["rgb", "float", "deflate", "predictor-3"],
        tool("convert chart.tif -define quantum:format=floating-point -depth 32 -compress zip rgb-float.tif"))

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def main():
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            build(tmp)
            differ = []
            for sub in ("", "reference"):
                a, b = os.path.join(DEFAULT_OUT, sub), os.path.join(tmp, sub)
                names_a = sorted(f for f in os.listdir(a) if os.path.isfile(os.path.join(a, f)) and f != "README.md")
                names_b = sorted(f for f in os.listdir(b) if os.path.isfile(os.path.join(b, f)))
                if names_a != names_b:
                    sys.exit(f"tests/corpus/tiff/{sub}: the files differ from what the script makes: "
                             f"{sorted(set(names_a) ^ set(names_b))}")
                differ += [os.path.join(sub, n) for n in names_a
                           if not same_bytes(os.path.join(a, n), os.path.join(b, n))]
            if "manifest.json" in differ:
                sys.exit("tests/corpus/tiff/manifest.json differs from what the script makes")
            print(f"the TIFF corpus is reproduced ({len(differ)} files differ in bytes only"
                  + (": " + ", ".join(differ[:5]) + ")" if differ else ")"))
        return
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    manifest = build(out)
    failed = [e["file"] for e in manifest if not e["libtiff"]]
    print(f"wrote {len(manifest)} TIFF files to {os.path.relpath(out)}; libtiff does not decode: {', '.join(failed) or 'none'}")


if __name__ == "__main__":
    main()
