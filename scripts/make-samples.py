#!/usr/bin/env python3
"""Makes samples/: realistic (fictitious) patient documents and images, and bad inputs.

Nothing is downloaded: text is drawn with the Vera fonts that ship inside reportlab.
Deterministic: a fixed random seed, fixed PDF dates, so the files only change when this
script does. Every person, address and number below is invented.

    python3 scripts/make-samples.py [OUT_DIR]     (default: samples/)

Writes OUT_DIR/documents/* (the inputs), OUT_DIR/expected/ (expected text per good
file, and manifest.json with the expected status, pages and reason code of every file),
and OUT_DIR/variants/ (one image in many encodings: TIFF compressions and colour types,
16-bit and palette PNG, for format tests).
"""
import array
import io
import json
import os
import random
import struct
import sys
import zlib

import pillow_heif
import reportlab
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "samples")
DOCS = os.path.join(OUT, "documents")
VARIANTS = os.path.join(OUT, "variants")
EXPECTED = os.path.join(OUT, "expected")
FONTS = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
random.seed(20261127)
manifest = {}


def font(size, bold=False):
    return ImageFont.truetype(os.path.join(FONTS, "VeraBd.ttf" if bold else "Vera.ttf"), size)


def record(name, status, pages=None, reason=None, text_pages=None, mime=None, text_source=None):
    entry = {"status": status}
    if mime:
        entry["mime"] = mime
    if pages is not None:
        entry["pages"] = pages
    if reason:
        entry["reason"] = reason
    if text_source:
        entry["text_source"] = text_source
    if text_pages is not None:
        entry["text"] = name + ".txt"
        with open(os.path.join(EXPECTED, name + ".txt"), "w") as f:
            f.write("\f".join("\n".join(p) + "\n" for p in text_pages))
    manifest[name] = entry


def draw_page(lines, size, dpi, margin_in=0.8, pt=11, bg=255, fg=0, mode="L"):
    """Renders lines of text onto a page image at the given dpi; returns (image, lines)."""
    img = Image.new(mode, size, bg if mode == "L" else (bg, bg, bg))
    d = ImageDraw.Draw(img)
    px = int(pt * dpi / 72)
    y = int(margin_in * dpi)
    for i, line in enumerate(lines):
        bold = i == 0
        d.text((int(margin_in * dpi), y), line, font=font(int(px * (1.35 if bold else 1)), bold), fill=fg if mode == "L" else (fg, fg, fg))
        y += int(px * (2.2 if bold else 1.6))
    return img


# ---------------------------------------------------------------- good documents

def discharge_summary():
    name = "discharge-summary.pdf"
    pdfmetrics.registerFont(TTFont("Vera", os.path.join(FONTS, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("VeraBd", os.path.join(FONTS, "VeraBd.ttf")))
    pages = [
        ["St. Brendan's University Hospital, Galway",
         "Discharge Summary",
         "Patient: Aoife Example    MRN: 0012-4471    DOB: 14/03/1961",
         "Admitted: 02/11/2026    Discharged: 09/11/2026",
         "Consultant: Dr. Ciaran Placeholder, Cardiology",
         "Diagnosis: Non-ST elevation myocardial infarction.",
         "Procedure: Coronary angiography with one drug eluting stent",
         "to the left anterior descending artery on 04/11/2026.",
         "Course: Uncomplicated recovery. Troponin peaked at 2140 ng/L."],
        ["Medications on discharge",
         "Aspirin 75 mg once daily, lifelong.",
         "Ticagrelor 90 mg twice daily for twelve months.",
         "Atorvastatin 80 mg once daily at night.",
         "Bisoprolol 2.5 mg once daily.",
         "Ramipril 2.5 mg once daily, titrate as blood pressure allows.",
         "Glyceryl trinitrate spray 400 micrograms as required."],
        ["Follow-up",
         "Cardiac rehabilitation referral sent on 08/11/2026.",
         "Outpatient review in the cardiology clinic in six weeks.",
         "Renal function and potassium to be checked by the GP in two weeks.",
         "Advice given on smoking cessation, diet and return to driving.",
         "Signed: Dr. Ciaran Placeholder, MRCPI"],
    ]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle("Discharge summary")
    for lines in pages:
        y = A4[1] - 72
        for i, line in enumerate(lines):
            c.setFont("VeraBd" if i == 0 else "Vera", 15 if i == 0 else 11)
            c.drawString(72, y, line)
            y -= 26 if i == 0 else 18
        c.showPage()
    c.save()
    open(os.path.join(DOCS, name), "wb").write(buf.getvalue())
    record(name, "READY", pages=3, text_pages=pages, mime="application/pdf", text_source="text_layer")


def lab_report_scan():
    name = "lab-report-scan.png"
    lines = ["Western Clinical Laboratories",
             "Patient: Sean Sample        Ref: LAB-2026-88213",
             "Collected: 21/11/2026 08:40",
             "Haemoglobin          13.9 g/dL      (13.0 - 17.0)",
             "White cell count     7.2 x10^9/L    (4.0 - 11.0)",
             "Platelets            254 x10^9/L    (150 - 400)",
             "Sodium               139 mmol/L     (135 - 145)",
             "Potassium            4.6 mmol/L     (3.5 - 5.3)",
             "Creatinine           88 umol/L      (59 - 104)",
             "HbA1c                52 mmol/mol    (20 - 42)",
             "Comment: HbA1c raised, suggest repeat in three months."]
    dpi = 300
    img = draw_page(lines, (2480, 2200), dpi, pt=10, bg=238, fg=30)
    img = img.rotate(-1.2, resample=Image.BICUBIC, expand=False, fillcolor=238)
    px = img.load()
    w, h = img.size
    for _ in range(w * h // 60):  # speckle noise
        x, y = random.randrange(w), random.randrange(h)
        px[x, y] = random.choice((60, 120, 255))
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    img.save(os.path.join(DOCS, name), dpi=(dpi, dpi))
    record(name, "READY", pages=1, text_pages=[lines], mime="image/png", text_source="ocr")


def prescription_photo():
    name = "prescription-photo.jpg"
    lines = ["PRESCRIPTION",
             "Dr. Niamh Fictional, Main Street Medical Centre",
             "Patient: Liam Testcase",
             "Amoxicillin 500 mg capsules",
             "One capsule three times daily for 7 days",
             "Supply: 21 capsules"]
    upright = Image.new("RGB", (1800, 1200), (246, 243, 235))
    d = ImageDraw.Draw(upright)
    y = 90
    for i, line in enumerate(lines):
        d.text((90, y), line, font=font(56 if i == 0 else 44, i == 0), fill=(25, 25, 60))
        y += 110 if i == 0 else 85
    # Stored as a phone stores it: sensor-oriented pixels plus EXIF orientation 6
    # ("rotate 90 degrees clockwise to display").
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6                      # Orientation
    exif[0x010F] = "ExamplePhone"         # Make
    exif[0x0110] = "Model X"              # Model
    gps = {1: "N", 2: (53.0, 16.0, 24.12), 3: "W", 4: (9.0, 3.0, 10.5), 5: 0, 6: 14.0}
    exif[0x8825] = gps                    # GPSInfo: a clinic in Galway
    stored.save(os.path.join(DOCS, name), quality=90, exif=exif.tobytes())
    record(name, "READY", pages=1, text_pages=[lines], mime="image/jpeg", text_source="ocr")


def referral_letter_tiff():
    name = "referral-letter-g4.tif"
    pages = [
        ["Riverside Family Practice",
         "Referral letter",
         "To: Dermatology Outpatients, Cork University Hospital",
         "Re: Maeve Fakename, DOB 02/07/1984",
         "Thank you for seeing this lady with a changing pigmented",
         "lesion on the left calf, present for two years, enlarged",
         "over the last three months with irregular borders."],
        ["Past history: hypothyroidism, on levothyroxine 100 micrograms.",
         "No known drug allergies.",
         "Family history of melanoma in her father.",
         "I would be grateful for an urgent assessment.",
         "Yours sincerely,",
         "Dr. Padraig Madeup, General Practitioner"],
    ]
    dpi = 300
    imgs = []
    for lines in pages:
        img = draw_page(lines, (2480, 3508), dpi, pt=11)
        imgs.append(img.point(lambda v: 255 if v > 140 else 0).convert("1"))
    imgs[0].save(os.path.join(DOCS, name), compression="group4", dpi=(dpi, dpi), save_all=True, append_images=imgs[1:])
    record(name, "READY", pages=2, text_pages=pages, mime="image/tiff", text_source="ocr")


def fax_g3_tiff():
    name = "pharmacy-fax-g3.tif"
    lines = ["Harbour Pharmacy - fax",
             "Re: repeat prescription request",
             "Patient: Orla Invented",
             "Metformin 500 mg tablets, one twice daily",
             "Please authorise and return by fax."]
    # Standard fax resolution: 204 x 196 dpi.
    img = draw_page(lines, (1728, 1100), 200, pt=12)
    img = img.point(lambda v: 255 if v > 140 else 0).convert("1")
    img.save(os.path.join(DOCS, name), compression="group3", dpi=(204, 196))
    record(name, "READY", pages=1, text_pages=[lines], mime="image/tiff", text_source="ocr")


def heic_photo():
    name = "medication-box.heic"
    lines = ["Levothyroxine", "100 micrograms", "28 tablets", "Take one each morning"]
    img = Image.new("RGB", (1600, 1000), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((40, 40, 1560, 960), outline=(0, 90, 160), width=12)
    y = 120
    for i, line in enumerate(lines):
        d.text((120, y), line, font=font(96 if i == 0 else 64, i == 0), fill=(0, 40, 90))
        y += 200 if i == 0 else 140
    heif = pillow_heif.from_pillow(img)
    heif.save(os.path.join(DOCS, name), quality=88)
    record(name, "READY", pages=1, text_pages=[lines], mime="image/heic", text_source="ocr")


def webp_image():
    name = "insurance-card.webp"
    lines = ["HEALTH INSURANCE CARD", "Member: Ruth Imaginary", "Policy: PLAN-55-20931", "Valid to: 12/2027"]
    img = Image.new("RGB", (1400, 880), (230, 240, 250))
    d = ImageDraw.Draw(img)
    y = 100
    for i, line in enumerate(lines):
        d.text((90, y), line, font=font(64 if i == 0 else 52, i == 0), fill=(10, 30, 70))
        y += 170
    img.save(os.path.join(DOCS, name), quality=90)
    record(name, "READY", pages=1, text_pages=[lines], mime="image/webp", text_source="ocr")


def cmyk_jpeg():
    name = "consent-form-cmyk.jpg"
    lines = ["Consent for treatment",
             "I agree to the procedure explained to me.",
             "Procedure: removal of skin lesion",
             "Patient signature: Conor Notreal",
             "Date: 18/11/2026"]
    img = draw_page(lines, (1700, 1100), 150, margin_in=0.6, pt=16, mode="RGB")
    img.convert("CMYK").save(os.path.join(DOCS, name), quality=92)
    record(name, "READY", pages=1, text_pages=[lines], mime="image/jpeg", text_source="ocr")


def scanned_pdf_ccitt():
    """A fax gateway's PDF: one CCITT Group 4 page image per page, no text layer."""
    name = "fax-gateway-scan.pdf"
    lines = ["Lakeside Orthopaedic Clinic",
             "Clinic letter",
             "Re: Declan Pretend, DOB 30/09/1958",
             "Review after total knee replacement, right side.",
             "Wound healed, range of movement 0 to 110 degrees.",
             "Continue physiotherapy. Review in three months."]
    w, h = 1728, 2200  # fax width at 204 dpi
    img = draw_page(lines, (w, h), 204, pt=11)
    bw = img.point(lambda v: 255 if v > 140 else 0).convert("1")
    buf = io.BytesIO()
    bw.save(buf, "TIFF", compression="group4", strip_size=2 ** 30)
    tif = Image.open(io.BytesIO(buf.getvalue()))
    off, cnt = tif.tag_v2[273][0], tif.tag_v2[279][0]
    black_is_zero = tif.tag_v2.get(262, 0) == 1
    g4 = buf.getvalue()[off:off + cnt]
    page_w, page_h = w * 72 / 204, h * 72 / 204
    content = f"q {page_w:.2f} 0 0 {page_h:.2f} 0 0 cm /Im0 Do Q".encode()
    params = f"/K -1 /Columns {w} /Rows {h}" + (" /BlackIs1 true" if black_is_zero else "")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.2f} {page_h:.2f}] "
        f"/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << {params} >> "
        f"/Length {len(g4)} >>\nstream\n".encode() + g4 + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    open(os.path.join(DOCS, name), "wb").write(bytes(out))
    record(name, "READY", pages=1, text_pages=[lines], mime="application/pdf", text_source="ocr")


def variants():
    """One small page in the encodings clinics' scanners and phones produce."""
    os.makedirs(VARIANTS, exist_ok=True)
    base = draw_page(["Variant test page", "Blood pressure 128/82 mmHg"], (900, 300), 150, margin_in=0.3, pt=14, mode="RGB")
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.new("L", base.size, 255).point(lambda v: v))
    px = rgba.load()
    for x in range(780, 900):
        for y in range(0, 300):
            px[x, y] = (0, 0, 0, 0)  # a transparent margin: black if alpha were ignored
    out = {
        "tiff-none.tif": (base, dict(compression="raw")),
        "tiff-lzw.tif": (base, dict(compression="tiff_lzw")),
        "tiff-deflate.tif": (base, dict(compression="tiff_adobe_deflate")),
        "tiff-packbits.tif": (base, dict(compression="packbits")),
        "tiff-jpeg.tif": (base, dict(compression="jpeg")),
        "tiff-grey-lzw.tif": (base.convert("L"), dict(compression="tiff_lzw")),
        "tiff-cmyk.tif": (base.convert("CMYK"), dict(compression="tiff_lzw")),
        "tiff-palette.tif": (base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), dict(compression="tiff_lzw")),
        "tiff-rgba.tif": (rgba, dict(compression="tiff_adobe_deflate")),
        "png-rgba.png": (rgba, {}),
        "png-palette.png": (base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), {}),
        "png-grey16.png": (base.convert("L").point(lambda v: v * 256, "I").convert("I;16"), {}),
        "jpeg-grey.jpg": (base.convert("L"), dict(quality=90)),
        "webp-lossless-alpha.webp": (rgba, dict(lossless=True)),
    }
    for name, (img, opts) in out.items():
        img.save(os.path.join(VARIANTS, name), **opts)

    # Phones store HEIC photos as the sensor saw them and record the turn in the container
    # (irot): this one is stored a quarter-turn anticlockwise and displays upright.
    heif = pillow_heif.from_pillow(base.transpose(Image.Transpose.ROTATE_90))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed after a quarter-turn clockwise; libheif writes it as irot
    heif.info["exif"] = exif.tobytes()
    heif.save(os.path.join(VARIANTS, "heic-rotated.heic"), quality=90)
    pillow_heif.from_pillow(rgba).save(os.path.join(VARIANTS, "heic-rgba.heic"), quality=90)
    # 10 bits per sample, as HDR photos are coded.
    rgb = base.convert("RGB")
    wide = array.array("H", [v * 257 for v in rgb.tobytes()])
    pillow_heif.from_bytes(mode="RGB;16", size=rgb.size, data=wide.tobytes()).save(
        os.path.join(VARIANTS, "heic-10bit.heic"), quality=90)


# ---------------------------------------------------------------- bad inputs

def bad_inputs():
    # A Windows executable renamed to look like a lab result.
    mz = bytearray(b"MZ" + b"\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(46) + struct.pack("<I", 64))
    mz += b"PE\x00\x00" + bytes(200)
    open(os.path.join(DOCS, "lab-results.pdf"), "wb").write(bytes(mz))
    record("lab-results.pdf", "REJECTED", reason="unsupported_type")

    # A photo cut short during upload.
    img = Image.new("RGB", (1200, 900), (200, 180, 160))
    ImageDraw.Draw(img).text((100, 100), "Wound photo, day 3", font=font(60), fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    open(os.path.join(DOCS, "wound-photo-truncated.jpg"), "wb").write(data[: len(data) // 2])
    record("wound-photo-truncated.jpg", "REJECTED", reason="corrupt")

    open(os.path.join(DOCS, "empty-upload.png"), "wb").write(b"")
    record("empty-upload.png", "REJECTED", reason="empty")

    # A tiny PNG that declares 30000 x 30000 pixels (a decompression bomb's header).
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 30001 * 8, 9)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    open(os.path.join(DOCS, "xray-huge.png"), "wb").write(png)
    record("xray-huge.png", "REJECTED", reason="too_many_pixels")


def main():
    os.makedirs(DOCS, exist_ok=True)
    os.makedirs(EXPECTED, exist_ok=True)
    for f in (discharge_summary, lab_report_scan, prescription_photo, referral_letter_tiff, fax_g3_tiff,
              heic_photo, webp_image, cmyk_jpeg, scanned_pdf_ccitt, bad_inputs, variants):
        f()
    with open(os.path.join(EXPECTED, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(manifest)} samples to {os.path.normpath(DOCS)}")


if __name__ == "__main__":
    main()
