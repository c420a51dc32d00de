#!/usr/bin/env python3
"""Makes the hostile corpus: files built to hurt a document pipeline, and what each must
end as. Nothing is downloaded; the inputs are samples/documents and bytes made here.
Deterministic (fixed seed).

    python3 scripts/make-hostile.py OUT_DIR

Writes OUT_DIR/files/* and OUT_DIR/expected.json: for every file, the statuses it may end
in and, when it is rejected, the reason codes it may be rejected with. FAILED is never
allowed (that status is for the pipeline's own faults, not for bad input).

- Decompression bombs: PNG, JPEG, TIFF and WebP headers declaring huge images; real
  images just under the pixel limit that decode to hundreds of MB (grey, 16-bit RGBA);
  a PNG whose zlib stream inflates to gigabytes.
- PDFs: deeply nested objects; a page tree declaring thousands of pages; thousands of
  real pages; a reference loop.
- Truncated and bit-flipped copies of every sample.
- Polyglots: a PDF with a ZIP appended, a JPEG with an executable appended, a ZIP, an
  ELF, an HTML page and a script under image and PDF extensions.
- Hostile names: `..` segments, right-to-left override marks, a 255-byte name and a
  1,000-character path, shell metacharacters, a name that is only spaces.
"""
import io
import json
import os
import random
import struct
import sys
import zlib

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SAMPLES = os.path.join(ROOT, "samples", "documents")
OUT = sys.argv[1]
FILES = os.path.join(OUT, "files")
os.makedirs(FILES, exist_ok=True)
random.seed(20261128)
expected = {}

BAD = ["corrupt", "unsupported_type", "empty", "too_many_pixels", "too_many_pages", "too_large", "encrypted"]


def put(name, data, status, reasons=None):
    path = os.path.join(FILES, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    expected[name] = {"status": status, "reasons": reasons}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, colour, rows=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- bombs
put("bomb-png-header.png", png(100_000, 100_000, 8, 2, zlib.compress(b"\0" * 1000)), ["REJECTED"], ["too_many_pixels"])
# Under the 100 MP limit in pixels, but a zlib stream that would inflate to 2.4 GB if the
# decoder believed the header of a bigger image: 9,000 × 9,000 grey, all rows zero.
rows = zlib.compressobj(9)
body = b"".join(rows.compress(b"\0" * (1 + 9000)) for _ in range(9000)) + rows.flush()
put("bomb-png-99mp-grey.png", png(9000, 9000, 8, 0, body), ["READY", "REJECTED"], ["too_many_pixels"])
# 16-bit RGBA: 8 bytes a pixel, 64 MP = 512 MB decoded.
rows = zlib.compressobj(9)
body = b"".join(rows.compress(b"\0" * (1 + 8000 * 8)) for _ in range(8000)) + rows.flush()
put("bomb-png-64mp-rgba16.png", png(8000, 8000, 16, 6, body), ["READY", "REJECTED"], ["too_many_pixels"])
# The worst a PNG under the limit can ask: 99 MP of 16-bit RGBA, 784 MB if decoded as is.
rows = zlib.compressobj(9)
body = b"".join(rows.compress(b"\0" * (1 + 9900 * 8)) for _ in range(9900)) + rows.flush()
put("bomb-png-98mp-rgba16.png", png(9900, 9900, 16, 6, body), ["READY", "REJECTED"], ["too_many_pixels"])
# IDAT inflating far beyond what the header needs (trailing garbage in the stream).
rows = zlib.compressobj(9)
body = b"".join(rows.compress(b"\0" * (1 << 20)) for _ in range(2048)) + rows.flush()
put("bomb-png-zlib-2gb.png", png(64, 64, 8, 0, body), ["READY", "REJECTED"], ["corrupt"])

jpeg = io.BytesIO()
Image.new("L", (64, 64), 255).save(jpeg, "JPEG")
j = bytearray(jpeg.getvalue())
sof = j.find(b"\xff\xc0")
j[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
put("bomb-jpeg-header.jpg", bytes(j), ["REJECTED"], ["too_many_pixels", "corrupt"])
jpeg = io.BytesIO()
Image.new("L", (9500, 9500), 255).save(jpeg, "JPEG", quality=50)
put("bomb-jpeg-90mp.jpg", jpeg.getvalue(), ["READY", "REJECTED"], ["too_many_pixels"])

tif = bytearray(b"II*\0" + struct.pack("<I", 8))
tags = [(256, 4, 1, 200_000), (257, 4, 1, 200_000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 8 * 12 + 4), (277, 3, 1, 1), (279, 4, 1, 16)]
tif += struct.pack("<H", len(tags))
for t, k, c, v in tags:
    tif += struct.pack("<HHII", t, k, c, v)
tif += struct.pack("<I", 0) + b"\0" * 16
put("bomb-tiff-header.tif", bytes(tif), ["REJECTED"], ["too_many_pixels"])


def tiff_rgba16(w, h, rows_per=100):
    """A deflate-compressed 16-bit RGBA TIFF of zeros: under 1 MB on disk."""
    strips = (h + rows_per - 1) // rows_per
    strip = zlib.compress(b"\0" * (w * 8 * rows_per), 9)
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    offsets = []
    for _ in range(strips):
        offsets.append(len(out))
        out += strip
    bps = len(out)
    out += struct.pack("<4H", 16, 16, 16, 16)
    so = len(out)
    out += struct.pack("<%dI" % strips, *offsets)
    sc = len(out)
    out += struct.pack("<%dI" % strips, *[len(strip)] * strips)
    ifd = len(out)
    tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 4, bps), (259, 3, 1, 8), (262, 3, 1, 2), (273, 4, strips, so),
            (277, 3, 1, 4), (278, 4, 1, rows_per), (279, 4, strips, sc), (338, 3, 1, 2)]
    out += struct.pack("<H", len(tags))
    for t, k, c, v in tags:
        out += struct.pack("<HHII", t, k, c, v)
    out += struct.pack("<I", 0)
    out[4:8] = struct.pack("<I", ifd)
    return bytes(out)


put("bomb-tiff-98mp-rgba16.tif", tiff_rgba16(9900, 9900), ["READY", "REJECTED"], ["too_many_pixels"])

# WebP VP8X canvas of 16384 × 16384 (268 MP) around a 1 × 1 lossless image.
webp = io.BytesIO()
Image.new("RGB", (1, 1)).save(webp, "WEBP", lossless=True)
inner = webp.getvalue()[12:]
vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (16383).to_bytes(3, "little") * 2
payload = b"WEBP" + vp8x + inner
put("bomb-webp-canvas.webp", b"RIFF" + struct.pack("<I", len(payload)) + payload, ["REJECTED"], ["too_many_pixels", "corrupt"])


# ---------------------------------------------------------------- PDFs
def pdf(objects, root=1):
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"
nested = b"[" * 100_000 + b"]" * 100_000
put("pdf-nested-arrays.pdf", pdf([b"<< /Type /Catalog /Pages 2 0 R /Extra 4 0 R >>",
                                  b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, nested]),
    ["READY", "REJECTED"], ["corrupt"])
nested_dicts = b"<< /A " * 50_000 + b"1" + b" >>" * 50_000
put("pdf-nested-dicts.pdf", pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /X " + nested_dicts + b" >>"]),
    ["READY", "REJECTED"], ["corrupt"])
put("pdf-declares-100000-pages.pdf", pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                          b"<< /Type /Pages /Kids [3 0 R] /Count 100000 >>", page]),
    ["READY", "REJECTED"], ["too_many_pages", "corrupt"])
n = 3000
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + i) for i in range(n)) + b"] /Count %d >>" % n]
objs += [page] * n
put("pdf-3000-pages.pdf", pdf(objs), ["REJECTED"], ["too_many_pages"])
put("pdf-page-tree-loop.pdf", pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                   b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", page]),
    ["READY", "REJECTED"], ["corrupt", "too_many_pages"])

# ---------------------------------------------------------------- damaged samples
samples = sorted(f for f in os.listdir(SAMPLES) if not f.startswith("."))
for name in samples:
    data = open(os.path.join(SAMPLES, name), "rb").read()
    if not data:
        continue
    stem, ext = os.path.splitext(name)
    put(f"truncated/{stem}-half{ext}", data[: len(data) // 2], ["READY", "REJECTED"], BAD)
    put(f"truncated/{stem}-first-100{ext}", data[:100], ["READY", "REJECTED"], BAD)
    for k in range(3):
        b = bytearray(data)
        for _ in range(max(1, len(b) // 1000)):
            i = random.randrange(len(b))
            b[i] ^= 1 << random.randrange(8)
        put(f"flipped/{stem}-{k}{ext}", bytes(b), ["READY", "REJECTED"], BAD)

# ---------------------------------------------------------------- polyglots, wrong types
def zip_bytes():
    import zipfile
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("payload.sh", "#!/bin/sh\necho pwned\n")
    return z.getvalue()


EXE = b"MZ\x90\x00" + b"This program cannot be run in DOS mode." + bytes(range(256)) * 8
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57 + bytes(range(256)) * 4
pdf_sample = open(os.path.join(SAMPLES, "discharge-summary.pdf"), "rb").read()
jpg_sample = open(os.path.join(SAMPLES, "prescription-photo.jpg"), "rb").read()
put("polyglot-pdf-zip.pdf", pdf_sample + zip_bytes(), ["READY", "REJECTED"], ["corrupt"])
put("polyglot-jpeg-exe.jpg", jpg_sample + EXE, ["READY"])
put("polyglot-zip-then-pdf.pdf", zip_bytes() + pdf_sample, ["READY", "REJECTED"], ["unsupported_type", "corrupt"])
put("wrong-type-zip.pdf", zip_bytes(), ["REJECTED"], ["unsupported_type"])
put("wrong-type-elf.jpg", ELF, ["REJECTED"], ["unsupported_type"])
put("wrong-type-exe.png", EXE, ["REJECTED"], ["unsupported_type"])
put("wrong-type-html.png", b"<!doctype html><script>alert(1)</script>", ["REJECTED"], ["unsupported_type"])
put("wrong-type-svg.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', ["REJECTED"], ["unsupported_type"])
put("wrong-extension-jpeg-named.pdf", jpg_sample, ["READY"])
put("wrong-extension-pdf-named.heic", pdf_sample, ["READY"])
put("no-extension", jpg_sample, ["READY"])

# ---------------------------------------------------------------- hostile names
put("..%2F..%2Fetc%2Fpasswd.jpg", jpg_sample, ["READY"])
put("....jpg", jpg_sample, ["READY"])
put("invoice\u202egpj.exe", jpg_sample, ["READY"])
put("\u200fright-to-left-\u05e9\u05dc\u05d5\u05dd.jpg", jpg_sample, ["READY"])
put("x" * 251 + ".jpg", jpg_sample, ["READY"])
put("/".join(["d" * 120] * 7) + "/deep.jpg", jpg_sample, ["READY"])
put("$(touch pwned); `id` & | ; > .jpg", jpg_sample, ["READY"])
put("   ", jpg_sample, ["READY"])
put("new\nline.jpg", jpg_sample, ["READY"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(f"{len(expected)} hostile files in {FILES}")
