#!/usr/bin/env python3
"""Makes tests/corpus/pdf/: small PDFs whose text layers are hard cases for a text
extractor, with poppler's outputs as references and the true text in reading order.

Nothing is downloaded: reportlab draws the pages with the Vera fonts it ships (DejaVu Sans
from Debian for Hebrew, placed in visual order by python-bidi), and a few
cases are finished by hand (a font's ToUnicode map removed; an attachment encrypted on its
own). Every name and sentence is invented.

    python3 scripts/make-pdf-corpus.py [OUT_DIR]   (default: tests/corpus/pdf)
    python3 scripts/make-pdf-corpus.py --check     regenerates into a temporary folder and
                                                   compares with tests/corpus/pdf

Writes OUT_DIR/<case>.pdf, OUT_DIR/reference/<case>.p<page>.txt (pdftotext),
.p<page>.layout.txt (pdftotext -layout), .p<page>.png (pdftoppm -r 100) and
OUT_DIR/manifest.json. Needs poppler-utils and qpdf (scripts/install-deps.sh --test).
Deterministic: reportlab's invariant mode (fixed dates and document ID), no randomness.
--check fails when the manifest or poppler's text differ, and reports (without failing)
PDFs and page images whose bytes differ (another reportlab or poppler may write the same
pages differently).
"""
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import reportlab
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_OUT = os.path.join(ROOT, "tests", "corpus", "pdf")
FONTS = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
pdfmetrics.registerFont(TTFont("Vera", os.path.join(FONTS, "Vera.ttf")))
pdfmetrics.registerFont(TTFont("VeraBd", os.path.join(FONTS, "VeraBd.ttf")))
# Hebrew needs a font with its letters: DejaVu Sans (Debian's fonts-dejavu-core).
pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
W, H = A4
MARGIN = 72


def new_canvas(buf, title):
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(title)
    c.setAuthor("Medi-Advice test corpus")
    return c


def lines_at(c, lines, x, y, font="Vera", size=11, leading=16):
    c.setFont(font, size)
    for line in lines:
        c.drawString(x, y, line)
        y -= leading
    return y


# ---------------------------------------------------------------- the cases

def page_number_only():
    """A page whose only text is its number, as scanned-then-OCRed or blank back pages are."""
    buf = io.BytesIO()
    c = new_canvas(buf, "Page number only")
    c.setFont("Vera", 10)
    c.drawCentredString(W / 2, 40, "3")
    c.showPage()
    c.save()
    return buf.getvalue(), [["3"]], {}


def heading_only():
    buf = io.BytesIO()
    c = new_canvas(buf, "Heading only")
    c.setFont("VeraBd", 20)
    c.drawString(MARGIN, H - 90, "Discharge summary")
    c.showPage()
    c.save()
    return buf.getvalue(), [["Discharge summary"]], {}


def german_umlauts():
    lines = ["Überweisung zur Kardiologie",
             "Sehr geehrte Frau Dr. Mustermann-Süß,",
             "wir überweisen Herrn Jörg Beispielmann (geb. 14.03.1961) zur Abklärung",
             "einer Belastungsdyspnoe. Größe 1,82 m, Gewicht 91 kg.",
             "Blutdruck 148/92 mmHg, Ruhe-EKG unauffällig, keine Ödeme.",
             "Äußerst selten Schwindel, übliche Medikation: Ramipril 5 mg.",
             "Mit freundlichen Grüßen",
             "Dr. Änne Erfunden, Praxis am Mühlbach"]
    buf = io.BytesIO()
    c = new_canvas(buf, "Überweisung")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, lines[0])
    lines_at(c, lines[1:], MARGIN, H - 130)
    c.showPage()
    c.save()
    return buf.getvalue(), [lines], {}


LEFT = [
    "The patient was admitted through the emergency department with two days of "
    "productive cough, fever and right-sided pleuritic chest pain.",
    "Chest radiograph showed consolidation of the right lower lobe without effusion. "
    "Oxygen saturation was 91 percent on room air and improved with two litres by nasal cannula.",
    "Intravenous co-amoxiclav was started on arrival and changed to oral therapy on day three "
    "once the fever had settled.",
]
RIGHT = [
    "Renal function remained normal throughout the stay and the inflammatory markers fell "
    "steadily from a peak on the second day.",
    "The physiotherapy team taught airway clearance exercises and the patient walked the "
    "ward corridor unaided before discharge.",
    "A repeat chest radiograph is planned in six weeks to confirm resolution, with review "
    "in the respiratory clinic afterwards.",
]


def fill_and_stroke():
    """A heading drawn filled and stroked (text render mode 2, how word processors
    embolden a font without a bold face): each glyph is drawn twice, once each way."""
    lines = ["Allergy alert",
             "Anaphylaxis to penicillin in 2019: avoid all beta-lactam antibiotics.",
             "Carries an adrenaline auto-injector."]
    buf = io.BytesIO()
    c = new_canvas(buf, "Allergy alert")
    t = c.beginText(MARGIN, H - 90)
    t.setFont("Vera", 16)
    t.setTextRenderMode(2)
    t.textLine(lines[0])
    c.drawText(t)
    lines_at(c, lines[1:], MARGIN, H - 130)
    c.showPage()
    c.save()
    return buf.getvalue(), [lines], {}


def two_columns():
    """Two columns of paragraphs: reading order is the whole left column, then the right."""
    gap = 24
    col_w = (W - 2 * MARGIN - gap) / 2
    buf = io.BytesIO()
    c = new_canvas(buf, "Two columns")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, "Clinical course")
    truth = ["Clinical course"]
    for x, paragraphs in ((MARGIN, LEFT), (MARGIN + col_w + gap, RIGHT)):
        y = H - 130
        for p in paragraphs:
            wrapped = simpleSplit(p, "Vera", 10, col_w)
            y = lines_at(c, wrapped, x, y, size=10, leading=14) - 10
            truth += wrapped
    c.showPage()
    c.save()
    return buf.getvalue(), [truth], {}


def rotated_text():
    """A horizontal heading, a block turned 90 degrees anticlockwise (read bottom to top),
    and a caption along the right margin turned 90 degrees clockwise (read top to bottom)."""
    heading = "Wound care chart"
    block = ["Dressing changed on day 4: wound clean and dry.",
             "Edges approximated, no discharge or erythema.",
             "Next review by the practice nurse on day 7."]
    caption = "Scanned copy, ward 7B, form WC-12"
    buf = io.BytesIO()
    c = new_canvas(buf, "Rotated text")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, heading)
    c.saveState()
    c.translate(MARGIN + 80, 260)
    c.rotate(90)
    lines_at(c, block, 0, 0)
    c.restoreState()
    c.saveState()
    c.translate(W - 40, H - 120)
    c.rotate(-90)
    c.setFont("Vera", 9)
    c.drawString(0, 0, caption)
    c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue(), [[heading] + block + [caption]], {}


def tounicode_stripped():
    """Text in embedded subsets of Vera whose ToUnicode maps are removed. The codes reportlab
    gives a subset's glyphs (in order of first use) mean nothing by themselves; poppler still
    recovers the text from the embedded font's own tables, other extractors may not."""
    lines = ["Operation note",
             "Procedure: laparoscopic cholecystectomy under general anaesthesia.",
             "Findings: a thick-walled gallbladder with several small stones.",
             "The cystic duct and artery were clipped and divided.",
             "Estimated blood loss 20 ml. No drain was left.",
             "Plan: home tomorrow if eating and walking."]
    buf = io.BytesIO()
    c = new_canvas(buf, "Operation note")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, lines[0])
    lines_at(c, lines[1:], MARGIN, H - 130)
    c.showPage()
    c.save()
    data = buf.getvalue()
    refs = re.findall(rb"/ToUnicode \d+ 0 R", data)
    if not refs:
        sys.exit("tounicode-stripped: reportlab wrote no ToUnicode entry to remove")
    # Blanked, not cut, so that every byte offset in the cross-reference table still holds.
    data = re.sub(rb"/ToUnicode \d+ 0 R", lambda m: b" " * len(m.group()), data)
    return data, [lines], {"note": "the fonts' ToUnicode entries are blanked out; poppler maps the codes "
                                   "through the embedded TrueType subsets' own tables"}


def garbled_tounicode():
    """Text whose fonts' ToUnicode maps send every letter to a punctuation mark (as broken
    PDF writers and some redaction tools leave them): the page reads right, and its text
    layer is all symbols, mapped and not private-use, so only its shape gives it away.
    qpdf uncompresses the maps, they are rewritten byte for byte, and fix-qdf repairs the
    file."""
    lines = ["Radiology report",
             "Ultrasound of the abdomen shows a normal liver and spleen.",
             "The gallbladder contains no stones and its wall is thin.",
             "Both kidneys are normal in size with no hydronephrosis.",
             "Conclusion: no abnormality was found today."]
    buf = io.BytesIO()
    c = new_canvas(buf, "Radiology report")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, lines[0])
    lines_at(c, lines[1:], MARGIN, H - 130)
    c.showPage()
    c.save()
    with tempfile.TemporaryDirectory() as tmp:
        src, qdf, fixed = (os.path.join(tmp, n) for n in ("a.pdf", "b.pdf", "c.pdf"))
        with open(src, "wb") as f:
            f.write(buf.getvalue())
        subprocess.run(["qpdf", "--qdf", "--object-streams=disable", "--deterministic-id", src, qdf], check=True)
        with open(qdf, "rb") as f:
            data = f.read()
        symbols = b"!#$%&*+;<=>?@^~"

        def garble(m):
            code = int(m.group(2), 16)
            if chr(code).isalpha():
                return m.group(1) + b"<00%02X>" % symbols[code % len(symbols)]
            return m.group(0)

        data, n = re.subn(rb"(<[0-9A-F]{2}> )<([0-9A-F]{4})>", garble, data)
        if n == 0:
            sys.exit("garbled-tounicode: no ToUnicode entries found to rewrite")
        with open(qdf, "wb") as f:
            f.write(data)
        subprocess.run(["fix-qdf", qdf], stdout=open(fixed, "wb"), check=True)
        with open(fixed, "rb") as f:
            data = f.read()
    return data, [lines], {"text_layer": "garbled",
                           "note": "every letter's ToUnicode entry names a punctuation mark instead"}


def pdf_file(objs):
    """A PDF from numbered object bodies (1 is the catalog), with a classic xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    doc_id = hashlib.md5(bytes(out)).hexdigest().encode()
    out += (b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s><%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, doc_id, doc_id, xref))
    return bytes(out)


def stream(dict_body, data):
    return b"<< " + dict_body + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def type3_page(t3_lines, plain_lines=()):
    """A page whose lines (text, x, y, size) are drawn in a bitmap Type 3 font, as old TeX
    (dvips) and some scanning software wrote: each glyph a 1-bit image mask drawn from Vera,
    its code given in order of first use (from 33, so "Operation" is coded as the bytes for
    !"#$%&'(#), its name made up (zzaa, zzab, ...), and no ToUnicode map: the page reads
    right and extractors see the codes. `plain_lines` are drawn in Helvetica, readable."""
    em = 100  # glyph space units per em; one unit is one pixel of the glyph bitmaps
    face = ImageFont.truetype(os.path.join(FONTS, "Vera.ttf"), em)
    codes = {}
    for ch in "".join(t for t, _, _, _ in t3_lines):
        codes.setdefault(ch, 33 + len(codes))
    objs = [None, None, None, None, None]  # catalog, pages, page, content, font
    procs, widths = [], []
    for ch, code in codes.items():
        name = "zz" + chr(97 + (code - 33) // 26) + chr(97 + (code - 33) % 26)
        wx = round(face.getlength(ch))
        x0, y0, x1, y1 = face.getbbox(ch, anchor="ls")
        if ch == " " or x1 <= x0:
            body = b"%d 0 0 0 0 0 d1\n" % wx
        else:
            glyph = Image.new("L", (x1 - x0, y1 - y0), 0)
            ImageDraw.Draw(glyph).text((-x0, -y0), ch, font=face, fill=255, anchor="ls")
            bits = glyph.point(lambda v: 255 if v > 127 else 0).convert("1").tobytes()
            body = (b"%d 0 %d %d %d %d d1\nq %d 0 0 %d %d %d cm\n"
                    b"BI /W %d /H %d /BPC 1 /IM true /D [1 0] /F /AHx ID\n%s>\nEI Q\n"
                    % (wx, x0, -y1, x1, -y0, x1 - x0, y1 - y0, x0, -y1, x1 - x0, y1 - y0, bits.hex().encode()))
        objs.append(stream(b"", body))
        procs.append(b"/%s %d 0 R" % (name.encode(), len(objs)))
        widths.append(wx)
    names = b" ".join(p.split(b" ")[0] for p in procs)
    content = bytearray(b"BT\n")
    for text, x, y, size in t3_lines:
        content += b"/T3 %d Tf 1 0 0 1 %d %d Tm <%s> Tj\n" % (size, x, y, bytes(codes[c] for c in text).hex().encode())
    for text, x, y, size in plain_lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        content += b"/F1 %d Tf 1 0 0 1 %d %d Tm (%s) Tj\n" % (size, x, y, escaped)
    content += b"ET\n"
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    helvetica = len(objs)
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    objs[2] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /T3 5 0 R /F1 %d 0 R >> >> "
               b"/Contents 4 0 R >>" % (round(W), round(H), helvetica))
    objs[3] = stream(b"", bytes(content))
    objs[4] = (b"<< /Type /Font /Subtype /Type3 /FontBBox [0 -30 120 100] /FontMatrix [0.01 0 0 0.01 0 0] "
               b"/CharProcs << " + b" ".join(procs) + b" >> "
               b"/Encoding << /Type /Encoding /Differences [33 " + names + b"] >> "
               b"/FirstChar 33 /LastChar %d /Widths [%s] /Resources << >> >>"
               % (32 + len(codes), b" ".join(b"%d" % w for w in widths)))
    return pdf_file(objs)


def type3_unmapped():
    """A whole page in an unmapped bitmap Type 3 font (see type3_page)."""
    lines = ["Outpatient letter",
             "Diagnosis: benign paroxysmal positional vertigo.",
             "The Epley manoeuvre was performed on the right side.",
             "Symptoms improved before the patient left the clinic.",
             "Vestibular exercises were explained and a leaflet given."]
    placed = [(lines[0], MARGIN, H - 90, 16)] + [(t, MARGIN, H - 130 - 16 * i, 11) for i, t in enumerate(lines[1:])]
    return type3_page(placed), [lines], {"text_layer": "unmapped",
                                         "note": "Type 3 bitmap font without ToUnicode and with made-up glyph names: "
                                                 "the text layer holds codes 33 upwards in order of first use"}


def partial_unmapped():
    """The body in an unmapped Type 3 font, the heading and the signature in Helvetica:
    the text layer reads only those two lines of the page."""
    heading = "Audiology report"
    body = ["Pure tone audiometry shows a mild high frequency loss in both ears.",
            "Speech discrimination is good at normal conversational levels.",
            "Tympanometry is normal and the ear canals are clear of wax.",
            "Hearing aids are not needed; a repeat test is advised in two years."]
    signature = "Signed electronically by the clinic audiologist"
    placed = [(t, MARGIN, H - 130 - 16 * i, 11) for i, t in enumerate(body)]
    plain = [(heading, MARGIN, H - 90, 16), (signature, MARGIN, H - 130 - 16 * len(body) - 24, 11)]
    return type3_page(placed, plain), [[heading] + body + [signature]], {
        "text_layer": "partial", "note": "heading and signature readable; the body in a Type 3 font without a map"}


def hebrew_rtl():
    """A Hebrew discharge letter with a date, a drug name and a dose in it, drawn right-aligned
    in visual order (as word processors place the glyphs), in DejaVu Sans."""
    lines = ["מכתב שחרור",
             "המטופלת אושפזה בתאריך 12.03.2026 עם כאבי בטן.",
             "בדיקת CT הראתה דלקת תוספתן ללא סיבוכים.",
             "טיפול: Ceftriaxone 2 גרם ליום במשך 5 ימים.",
             "ביקורת במרפאה הכירורגית בעוד שבועיים."]
    buf = io.BytesIO()
    c = new_canvas(buf, "Hebrew discharge letter")
    y = H - 90
    for i, line in enumerate(lines):
        c.setFont("DejaVu", 16 if i == 0 else 11)
        c.drawRightString(W - MARGIN, y, get_display(line, base_dir="R"))
        y -= 40 if i == 0 else 16
    c.showPage()
    c.save()
    return buf.getvalue(), [lines], {"direction": "rtl"}


def header_footer_columns():
    """A running header, two columns of prose whose paragraphs end at the same height, and a
    footer row (a notice on the left, the page number on the right)."""
    header = "Mercy Fictional Hospital - Respiratory Medicine"
    left = ["Spirometry before and after a bronchodilator showed a reversible obstructive pattern "
            "with a twelve percent improvement.",
            "Exhaled nitric oxide was raised, which supports a diagnosis of asthma."]
    right = ["An inhaled corticosteroid was started at a low dose with a reliever inhaler as "
             "needed, and the inhaler technique checked.",
             "A written asthma action plan was agreed with the patient today."]
    gap = 24
    col_w = (W - 2 * MARGIN - gap) / 2
    buf = io.BytesIO()
    c = new_canvas(buf, "Header, columns, footer")
    c.setFont("Vera", 9)
    c.drawString(MARGIN, H - 40, header)
    truth = [header]
    tops = []
    for x, paragraphs in ((MARGIN, left), (MARGIN + col_w + gap, right)):
        y = H - 110
        for p in paragraphs:
            wrapped = simpleSplit(p, "Vera", 10, col_w)
            y = lines_at(c, wrapped, x, y, size=10, leading=14) - 10
            truth += wrapped
        tops.append(y)
    c.setFont("Vera", 9)
    c.drawString(MARGIN, 36, "Confidential patient information")
    c.drawRightString(W - MARGIN, 36, "Page 1 of 1")
    truth.append("Confidential patient information Page 1 of 1")
    c.showPage()
    c.save()
    return buf.getvalue(), [truth], {}


def scan_with_page_number():
    """A scanned letter (a picture of its text) whose only text layer is the page number a
    printing system stamped on it: the layer is right and reads almost none of the page."""
    lines = ["Community nursing visit",
             "Leg ulcer on the left shin measured four by three centimetres.",
             "The wound bed is granulating with a small amount of exudate.",
             "Compression bandaging was applied and tolerated well.",
             "Next visit on Thursday morning."]
    dpi = 200
    face = ImageFont.truetype(os.path.join(FONTS, "Vera.ttf"), round(11 * dpi / 72))
    bold = ImageFont.truetype(os.path.join(FONTS, "VeraBd.ttf"), round(16 * dpi / 72))
    wpt, hpt = W - 2 * MARGIN, 160
    img = Image.new("L", (round(wpt * dpi / 72), round(hpt * dpi / 72)), 255)
    d = ImageDraw.Draw(img)
    y = 10
    for i, line in enumerate(lines):
        d.text((0, y), line, font=bold if i == 0 else face, fill=0)
        y += round((40 if i == 0 else 16) * dpi / 72)
    png = io.BytesIO()
    img.save(png, "PNG")
    png.seek(0)
    buf = io.BytesIO()
    c = new_canvas(buf, "Scanned letter")
    from reportlab.lib.utils import ImageReader
    c.drawImage(ImageReader(png), MARGIN, H - 80 - hpt, wpt, hpt)
    c.setFont("Vera", 10)
    c.drawCentredString(W / 2, 40, "2")
    c.showPage()
    c.save()
    return buf.getvalue(), [lines + ["2"]], {"text_layer": "page number only, over a scanned picture"}


# ---------------------------------------------------------------- encryption by hand

PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key, data):
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for b in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def standard_security(user, owner, doc_id, perms=-4):
    """The standard security handler, revision 4, 128-bit RC4 (ISO 32000-1, 7.6.3):
    returns (file key, O, U)."""
    def pad(pw):
        return (pw.encode("latin-1") + PAD)[:32]
    k = hashlib.md5(pad(owner)).digest()
    for _ in range(50):
        k = hashlib.md5(k).digest()
    o = rc4(k, pad(user))
    for i in range(1, 20):
        o = rc4(bytes(b ^ i for b in k), o)
    key = hashlib.md5(pad(user) + o + struct.pack("<i", perms) + doc_id).digest()
    for _ in range(50):
        key = hashlib.md5(key).digest()
    u = rc4(key, hashlib.md5(PAD + doc_id).digest())
    for i in range(1, 20):
        u = rc4(bytes(b ^ i for b in key), u)
    return key, o, u + bytes(16)


def encrypted_attachment(user_password):
    """A readable letter whose only encrypted part is its attachment: the Encrypt
    dictionary leaves streams and strings in the clear (StmF and StrF /Identity) and sends
    embedded files through a crypt filter with RC4-128 (EFF, and the attachment's stream
    names the same filter itself, which is what qpdf reads). Added as an incremental update
    to reportlab's file."""
    lines = ["Referral with attached results",
             "Dear colleague, please see the attached laboratory results",
             "for Ruth Imaginary, which the laboratory sent to us encrypted.",
             "The password was given to your secretary by telephone.",
             "Dr. Niamh Fictional, Main Street Medical Centre"]
    buf = io.BytesIO()
    c = new_canvas(buf, "Referral with attachment")
    c.setFont("VeraBd", 16)
    c.drawString(MARGIN, H - 90, lines[0])
    lines_at(c, lines[1:], MARGIN, H - 130)
    c.showPage()
    c.save()
    base = buf.getvalue()
    doc_id = bytes.fromhex(re.search(rb"/ID\s*\[<([0-9a-fA-F]+)>", base).group(1).decode())
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    root = int(re.findall(rb"/Root (\d+) 0 R", base)[-1])
    info = int(re.findall(rb"/Info (\d+) 0 R", base)[-1])
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    catalog = re.search(rb"\n%d 0 obj\s*<<(.*?)>>\s*endobj" % root, base, re.S).group(1)
    catalog = re.sub(rb"/PageMode /\w+", b"", catalog)

    key, o, u = standard_security(user_password, "owner-2026", doc_id)
    attachment = ("Western Clinical Laboratories\n"
                  "Patient: Ruth Imaginary   Ref: LAB-0000-5521\n"
                  "Haemoglobin 12.1 g/dL (11.5 - 15.5)\n"
                  "Ferritin 9 ug/L (15 - 150) LOW\n").encode()
    ef, fs, names, enc = size, size + 1, size + 2, size + 3
    obj_key = hashlib.md5(key + struct.pack("<I", ef)[:3] + b"\0\0").digest()[:16]
    sealed = rc4(obj_key, attachment)
    objs = {
        ef: b"<< /Type /EmbeddedFile /Subtype /text#2Fplain /Filter /Crypt "
            b"/DecodeParms << /Type /CryptFilterDecodeParms /Name /StdCF >> /Length %d /Params << /Size %d >> >>\nstream\n"
            % (len(sealed), len(attachment)) + sealed + b"\nendstream",
        fs: b"<< /Type /Filespec /F (results.txt) /UF (results.txt) /EF << /F %d 0 R >> "
            b"/Desc (Laboratory results) >>" % ef,
        names: b"<< /Names [(results.txt) %d 0 R] >>" % fs,
        enc: b"<< /Filter /Standard /V 4 /R 4 /Length 128 /P -4 "
             b"/CF << /StdCF << /Type /CryptFilter /CFM /V2 /AuthEvent /EFOpen /Length 16 >> >> "
             b"/StmF /Identity /StrF /Identity /EFF /StdCF "
             b"/O <" + o.hex().encode() + b"> /U <" + u.hex().encode() + b"> >>",
        root: b"<<" + catalog + b" /Names << /EmbeddedFiles %d 0 R >> /PageMode /UseAttachments >>" % names,
    }
    out = bytearray(base)
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for num in sorted(objs):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    idhex = doc_id.hex().encode()
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d /Encrypt %d 0 R /ID [<%s><%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (enc + 1, root, info, prev, enc, idhex, idhex, xref))
    return bytes(out), [lines], {"attachment": "results.txt", "attachment_text": attachment.decode(),
                                 "user_password": user_password, "owner_password": "owner-2026",
                                 "encryption": "RC4-128 (V4 R4), embedded files only (EFF and the stream's /Crypt filter StdCF, AuthEvent EFOpen)"}


CASES = [
    ("page-number-only", page_number_only),
    ("heading-only", heading_only),
    ("german-umlauts", german_umlauts),
    ("fill-and-stroke", fill_and_stroke),
    ("two-columns", two_columns),
    ("rotated-text", rotated_text),
    ("tounicode-stripped", tounicode_stripped),
    ("type3-unmapped", type3_unmapped),
    ("garbled-tounicode", garbled_tounicode),
    ("partial-unmapped", partial_unmapped),
    ("hebrew-rtl", hebrew_rtl),
    ("header-footer-columns", header_footer_columns),
    ("scan-with-page-number", scan_with_page_number),
    ("attachment-encrypted", lambda: encrypted_attachment("")),
    ("attachment-encrypted-password", lambda: encrypted_attachment("results-2026")),
]


# ---------------------------------------------------------------- references

def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True)


def build(out):
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".pdf") or f == "manifest.json":
            os.remove(os.path.join(out, f))
    for f in os.listdir(os.path.join(out, "reference")):
        os.remove(os.path.join(out, "reference", f))
    manifest = []
    for case, make in CASES:
        data, pages, extra = make()
        name = case + ".pdf"
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        password = ["--password=" + extra["user_password"]] if extra.get("user_password") else []
        check = run(["qpdf", *password, "--check", name], out)
        entry = {"file": name, "case": case, "pages": []}
        entry.update(extra)
        entry["qpdf_check"] = "ok" if check.returncode == 0 else (check.stdout + check.stderr).decode().strip().splitlines()[-1]
        if "attachment" in extra:
            # Whether each tool gives the attachment back decrypted.
            want = extra["attachment_text"].encode()
            got = run(["qpdf", *password, "--show-attachment=" + extra["attachment"], name], out).stdout
            entry["qpdf_attachment"] = "decrypted" if got == want else "not decrypted"
            saved = os.path.join(out, "attachment.tmp")
            run(["pdfdetach", "-save", "1", "-o", saved, name], out)
            with open(saved, "rb") as f:
                entry["pdfdetach_attachment"] = "decrypted" if f.read() == want else "not decrypted"
            os.remove(saved)
        for n, truth in enumerate(pages, 1):
            page = {"page": n, "text": "\n".join(truth) + "\n"}
            base = f"reference/{case}.p{n}"
            for suffix, opts in ((".txt", []), (".layout.txt", ["-layout"])):
                r = run(["pdftotext", "-enc", "UTF-8", *opts, "-f", str(n), "-l", str(n), name, base + suffix], out)
                if r.returncode:
                    page["pdftotext_error"] = r.stderr.decode().strip()
                    break
                page["pdftotext" + ("_layout" if opts else "")] = base + suffix
            r = run(["pdftoppm", "-r", "100", "-png", "-f", str(n), "-l", str(n), "-singlefile", name, base], out)
            if r.returncode == 0:
                page["image"] = base + ".png"
            else:
                page["pdftoppm_error"] = r.stderr.decode().strip()
            entry["pages"].append(page)
        manifest.append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return manifest


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def main():
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            build(tmp)
            loose = []
            for sub in ("", "reference"):
                a, b = os.path.join(DEFAULT_OUT, sub), os.path.join(tmp, sub)
                names_a = sorted(f for f in os.listdir(a) if os.path.isfile(os.path.join(a, f)))
                names_b = sorted(f for f in os.listdir(b) if os.path.isfile(os.path.join(b, f)))
                if names_a != names_b:
                    sys.exit(f"tests/corpus/pdf/{sub}: the files differ from what the script makes: "
                             f"{sorted(set(names_a) ^ set(names_b))}")
                for n in names_a:
                    if not same_bytes(os.path.join(a, n), os.path.join(b, n)):
                        if n.endswith((".png", ".pdf")):
                            loose.append(n)
                        else:
                            sys.exit(f"tests/corpus/pdf/{os.path.join(sub, n)} differs from what the script makes")
            print(f"the PDF corpus is reproduced ({len(loose)} PDFs or page images differ in bytes only"
                  + (": " + ", ".join(loose[:5]) + ")" if loose else ")"))
        return
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    manifest = build(out)
    print(f"wrote {len(manifest)} PDF files to {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
