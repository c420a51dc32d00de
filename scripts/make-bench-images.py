#!/usr/bin/env python3
"""Inputs of the media benchmark (scripts/bench-media.sh), made with Pillow and reportlab,
the same bytes every time (fixed seeds):

  phone-12mp.jpg   4032x3024 phone photo of a letter on a table, stored sideways with
                   EXIF Orientation 6 (as phones store portrait shots), quality 90, 4:2:0
  camera-24mp.jpg  6000x4000 clinical photo (skin tones, soft shapes, sensor noise), q 92
  scan-a4.png      2480x3508 (A4 at 300 dpi) colour scan of a letter with a letterhead
  scan-a4.tif      the same scan as an LZW TIFF tagged 300 dpi
  letter-10p.pdf   a 10-page clinic letter: text, tables and a photo on every other page

usage: make-bench-images.py OUT_DIR
"""
import io
import os
import random
import sys

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

WORDS = ("patient blood pressure referral cardiology follow-up weeks amoxicillin tablets "
         "daily history allergies none known chest clear examination discharge summary "
         "medication review HbA1c vitamin deficiency ultrasound normal findings consultant "
         "general practitioner appointment dose twice morning evening symptoms fever").split()


def noise(size, sigma):
    """Grey gaussian noise centred on 128."""
    return Image.effect_noise(size, sigma)


def add_noise(img, sigma, seed):
    random.seed(seed)
    bands = [ImageChops.add(b, noise(img.size, sigma), scale=1.0, offset=-128)
             for b in img.split()]
    return Image.merge(img.mode, bands)


def text_page(size, rng, font_px, colour_head=True):
    w, h = size
    page = Image.new("RGB", size, (252, 251, 247))
    d = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=font_px)
    big = ImageFont.load_default(size=int(font_px * 1.8))
    m = w // 12
    if colour_head:
        d.rectangle((0, 0, w, int(h * 0.07)), fill=(18, 92, 140))
        d.text((m, int(h * 0.02)), "Medi-Advice Clinic", font=big, fill=(255, 255, 255))
    y = int(h * 0.1)
    d.text((m, y), "Discharge summary", font=big, fill=(20, 20, 20))
    y += int(font_px * 3)
    while y < h - m:
        if rng.random() < 0.08:  # a table row band
            d.rectangle((m, y, w - m, y + font_px * 2), outline=(60, 60, 60), width=3)
            for x in range(m, w - m, (w - 2 * m) // 4):
                d.line((x, y, x, y + font_px * 2), fill=(60, 60, 60), width=3)
            y += font_px * 3
            continue
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11)))
        d.text((m, y), line.capitalize() + ".", font=font, fill=(25, 25, 30))
        y += int(font_px * 1.6)
    return page


def phone_photo(path):
    rng = random.Random(12)
    w, h = 4032, 3024
    random.seed(1)
    table = ImageOps.colorize(noise((w // 8, h // 8), 60).filter(ImageFilter.GaussianBlur(2))
                              .resize((w, h), Image.BICUBIC), (70, 45, 25), (170, 120, 80))
    letter = text_page((2100, 2970), rng, 46).rotate(3.5, expand=True, fillcolor=(0, 0, 0))
    mask = Image.new("L", (2100, 2970), 255).rotate(3.5, expand=True, fillcolor=0)
    # The photo is taken landscape; the letter lies across it, portrait once rotated.
    letter, mask = letter.rotate(90, expand=True), mask.rotate(90, expand=True)
    table.paste(letter, ((w - letter.width) // 2, (h - letter.height) // 2), mask)
    light = Image.linear_gradient("L").resize((w, h)).point(lambda v: 150 + v * 105 // 255)
    lit = Image.merge("RGB", [ImageChops.multiply(b, light) for b in table.split()])
    photo = add_noise(lit.filter(ImageFilter.GaussianBlur(0.8)), 10, 2)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    photo.save(path, quality=90, subsampling=2, exif=exif)


def camera_photo(path):
    rng = random.Random(24)
    w, h = 6000, 4000
    img = Image.new("RGB", (w, h), (196, 150, 128))
    d = ImageDraw.Draw(img)
    for _ in range(400):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randint(20, 600)
        tone = (rng.randint(120, 230), rng.randint(80, 170), rng.randint(60, 140))
        d.ellipse((x - r, y - r, x + r, y + r), fill=tone)
    img = img.filter(ImageFilter.GaussianBlur(25))
    d = ImageDraw.Draw(img)
    for _ in range(3000):  # pores, hairs, freckles: fine detail
        x, y = rng.randrange(w), rng.randrange(h)
        d.line((x, y, x + rng.randint(-40, 40), y + rng.randint(-40, 40)),
               fill=(rng.randint(60, 120), rng.randint(40, 80), rng.randint(30, 60)), width=2)
    img = add_noise(img.filter(ImageFilter.GaussianBlur(1.2)), 8, 3)
    img.save(path, quality=92, subsampling=2)


def scan(png_path, tif_path):
    rng = random.Random(300)
    page = text_page((2480, 3508), rng, 42)
    page = add_noise(page, 5, 4)
    page.save(png_path, dpi=(300, 300))
    page.save(tif_path, compression="tiff_lzw", dpi=(300, 300))


def pdf(path):
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rng = random.Random(10)
    random.seed(5)
    snap = io.BytesIO()
    ImageOps.colorize(noise((800, 600), 50).filter(ImageFilter.GaussianBlur(3)),
                      (40, 20, 20), (230, 190, 170)).save(snap, "JPEG", quality=85)
    snap = ImageReader(io.BytesIO(snap.getvalue()))
    c = canvas.Canvas(path, pagesize=A4, invariant=1)
    w, h = A4
    for p in range(1, 11):
        c.setFillColorRGB(0.07, 0.36, 0.55)
        c.rect(0, h - 60, w, 60, fill=1, stroke=0)
        c.setFillColorRGB(1, 1, 1)
        c.setFont("Helvetica-Bold", 18)
        c.drawString(50, h - 40, "Medi-Advice Clinic")
        c.setFillColorRGB(0, 0, 0)
        c.setFont("Helvetica", 10)
        y = h - 100
        if p % 2 == 0:
            c.drawImage(snap, 50, y - 240, 320, 240)
            y -= 260
        while y > 60:
            if rng.random() < 0.1:
                c.grid([50, 180, 310, 440, 545], [y, y - 14, y - 28])
                y -= 40
                continue
            c.drawString(50, y, " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 13))))
            y -= 14
        c.drawString(w - 100, 30, f"page {p} of 10")
        c.showPage()
    c.save()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    phone_photo(os.path.join(out, "phone-12mp.jpg"))
    camera_photo(os.path.join(out, "camera-24mp.jpg"))
    scan(os.path.join(out, "scan-a4.png"), os.path.join(out, "scan-a4.tif"))
    pdf(os.path.join(out, "letter-10p.pdf"))


if __name__ == "__main__":
    main()
