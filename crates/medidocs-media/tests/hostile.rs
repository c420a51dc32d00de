//! Bad input gets a specific reason code and never takes the process down.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use medidocs_media::{Limits, MediaError, Mime, decode_page, inspect};

fn encode(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
    }));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut png = encode(ImageFormat::Png, 4, 4);
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    // Fix the IHDR CRC so only the size is wrong.
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in data {
        c ^= *b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn sample(name: &str) -> Vec<u8> {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples");
    std::fs::read(dir.join(name)).unwrap()
}

/// The sample phone photo with its image size (`ispe`) rewritten: a decompression bomb's
/// header on a real HEVC stream.
fn heic_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut heic = sample("documents/medication-box.heic");
    let at = heic.windows(4).position(|b| b == b"ispe").unwrap() + 8; // type, version+flags
    heic[at..at + 4].copy_from_slice(&w.to_be_bytes());
    heic[at + 4..at + 8].copy_from_slice(&h.to_be_bytes());
    heic
}

fn multipage_tiff(pages: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = tiff::encoder::TiffEncoder::new(Cursor::new(&mut out)).unwrap();
        for _ in 0..pages {
            enc.write_image::<tiff::encoder::colortype::Gray8>(8, 8, &[200u8; 64])
                .unwrap();
        }
    }
    out
}

/// Inspection then decoding of the first page: the first error's code, or "ok".
fn outcome(bytes: &[u8], limits: &Limits) -> String {
    match inspect(bytes, limits) {
        Err(e) => e.code().to_string(),
        Ok(i) => match decode_page(bytes, i.mime, 0, limits) {
            Ok(_) => "ok".into(),
            Err(e) => e.code().to_string(),
        },
    }
}

#[test]
fn bad_inputs_get_specific_reasons() {
    let d = Limits::default();
    let jpeg = encode(ImageFormat::Jpeg, 64, 48);
    let png = encode(ImageFormat::Png, 64, 48);
    let heic = sample("documents/medication-box.heic");
    let small = Limits {
        max_bytes: 100,
        ..d
    };
    let few_pages = Limits { max_pages: 5, ..d };
    let cases: Vec<(&str, Vec<u8>, &Limits, &str)> = vec![
        ("zero bytes", vec![], &d, "empty"),
        (
            "a Windows executable",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec(),
            &d,
            "unsupported_type",
        ),
        (
            "a ZIP archive",
            b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(),
            &d,
            "unsupported_type",
        ),
        (
            "a GIF",
            b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
            &d,
            "unsupported_type",
        ),
        (
            "plain text",
            b"patient notes".to_vec(),
            &d,
            "unsupported_type",
        ),
        ("valid JPEG", jpeg.clone(), &d, "ok"),
        ("valid PNG", png.clone(), &d, "ok"),
        ("valid WebP", encode(ImageFormat::WebP, 32, 32), &d, "ok"),
        (
            "JPEG cut in half",
            jpeg[..jpeg.len() / 2].to_vec(),
            &d,
            "corrupt",
        ),
        ("JPEG header only", jpeg[..20].to_vec(), &d, "corrupt"),
        (
            "PNG cut in half",
            png[..png.len() / 2].to_vec(),
            &d,
            "corrupt",
        ),
        (
            "PNG declaring 30000x30000",
            png_header_only(30000, 30000),
            &d,
            "too_many_pixels",
        ),
        ("PNG declaring 0x10", png_header_only(0, 10), &d, "corrupt"),
        ("file over the size limit", png.clone(), &small, "too_large"),
        (
            "TIFF with 6 pages, limit 5",
            multipage_tiff(6),
            &few_pages,
            "too_many_pages",
        ),
        (
            "TIFF with 5 pages, limit 5",
            multipage_tiff(5),
            &few_pages,
            "ok",
        ),
        (
            "TIFF cut short",
            multipage_tiff(2)[..60].to_vec(),
            &d,
            "corrupt",
        ),
        (
            "PDF header then garbage",
            b"%PDF-1.7\n\xde\xad\xbe\xef garbage".to_vec(),
            &d,
            "corrupt",
        ),
        (
            "ISO media that is not HEIF",
            b"\0\0\0\x18ftypisom\0\0\0\0isomavc1".to_vec(),
            &d,
            "unsupported_type",
        ),
        (
            "HEIF brand with no boxes",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            &d,
            "corrupt",
        ),
        ("valid HEIC photo", heic.clone(), &d, "ok"),
        (
            "HEIC declaring 30000x30000",
            heic_declaring(30000, 30000),
            &d,
            "too_many_pixels",
        ),
        (
            "HEIC cut in half",
            heic[..heic.len() / 2].to_vec(),
            &d,
            "corrupt",
        ),
        ("HEIC container only", heic[..600].to_vec(), &d, "corrupt"),
    ];
    let mut wrong = Vec::new();
    for (name, bytes, limits, want) in &cases {
        let got = outcome(bytes, limits);
        if got != *want {
            wrong.push(format!("{name}: got {got}, expected {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn too_many_pages_reports_the_real_count() {
    let limits = Limits {
        max_pages: 3,
        ..Limits::default()
    };
    match inspect(&multipage_tiff(7), &limits) {
        Err(MediaError::TooManyPages { pages, limit }) => assert_eq!((pages, limit), (7, 3)),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn the_type_comes_from_the_bytes_not_the_name() {
    // No file name reaches inspection at all: a JPEG is a JPEG whatever it was called.
    let i = inspect(&encode(ImageFormat::Jpeg, 10, 10), &Limits::default()).unwrap();
    assert_eq!(i.mime, Mime::Jpeg);
}

/// Every sample cut short at many points and with bytes flipped: each gives a result or
/// a known reason, and no panic escapes (a panic would fail this test).
#[test]
fn damaged_samples_never_escape_as_panics() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents");
    let limits = Limits::default();
    let known = [
        "ok",
        "empty",
        "unsupported_type",
        "too_large",
        "too_many_pixels",
        "too_many_pages",
        "encrypted",
        "corrupt",
    ];
    let mut tried = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if bytes.len() < 64 || bytes.len() > 300_000 {
            continue;
        }
        let mut variants = Vec::new();
        for i in 1..8 {
            variants.push(bytes[..bytes.len() * i / 8].to_vec());
        }
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..6 {
            let mut v = bytes.clone();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = 16 + (seed as usize % (v.len() - 16));
                v[at] ^= (seed >> 32) as u8 | 1;
            }
            variants.push(v);
        }
        for v in variants {
            let got = outcome(&v, &limits);
            assert!(known.contains(&got.as_str()), "unknown outcome {got}");
            tried += 1;
        }
    }
    assert!(tried >= 50, "only {tried} variants");
}

/// The HEVC decoder meets the bit-flipped photos a damaged phone upload produces: every
/// copy ends in a known outcome, and the undamaged bytes still decode.
#[test]
fn damaged_heic_photos_end_in_a_known_outcome() {
    let heic = sample("documents/medication-box.heic");
    let limits = Limits::default();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..120 {
        let mut v = heic.clone();
        for _ in 0..1 + round % 6 {
            let at = next() as usize % v.len();
            v[at] ^= (next() >> 40) as u8 | 1;
        }
        if round % 4 == 0 {
            v.truncate(v.len() - next() as usize % (v.len() / 2));
        }
        *outcomes.entry(outcome(&v, &limits)).or_insert(0) += 1;
    }
    let known = ["ok", "corrupt", "unsupported_type", "too_many_pixels"];
    assert!(
        outcomes.keys().all(|k| known.contains(&k.as_str())),
        "{outcomes:?}"
    );
    assert!(
        outcomes.get("corrupt").copied().unwrap_or(0) > 0,
        "{outcomes:?}"
    );
    assert_eq!(outcome(&heic, &limits), "ok");
}

/// A PDF whose only encrypted part is an attachment (its strings and streams use the
/// Identity filter) is read without the attachment's password, its page and text plain;
/// the same file claiming its streams are encrypted is `encrypted`.
#[test]
fn a_pdf_with_only_its_attachment_encrypted_is_read() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/pdf");
    let limits = Limits::default();
    for name in [
        "attachment-encrypted.pdf",
        "attachment-encrypted-password.pdf",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let info = inspect(&bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.pages, 1, "{name}");
        assert!(decode_page(&bytes, Mime::Pdf, 0, &limits).is_ok(), "{name}");
        let text: String = medidocs_media::pdf_text_layer(&bytes, 0)
            .unwrap()
            .words()
            .map(|w| format!("{} ", w.text))
            .collect();
        assert!(
            text.contains("Referral with attached results"),
            "{name}: {text}"
        );
    }
    let bytes = std::fs::read(dir.join("attachment-encrypted-password.pdf")).unwrap();
    let at = bytes
        .windows(15)
        .position(|w| w == b"/StmF /Identity")
        .unwrap();
    let mut locked = bytes.clone();
    locked[at..at + 15].copy_from_slice(b"/StmF /StdCF   ");
    assert_eq!(inspect(&locked, &limits).unwrap_err().code(), "encrypted");
}
