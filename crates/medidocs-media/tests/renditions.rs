//! Renditions from one decode: orientation applied to every rendition, grey kept grey,
//! transparency on white, and the fast TIFF LZW path equal to the general decoder.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use medidocs_media::{
    DecodedPage, EncodedRendition, Limits, Mime, PartialFile, RenditionKind, TiffPageReads,
    decode_page, decode_tiff_page_at, inspect, render_renditions, tiff_page_needs,
};

/// 640×400, mostly white with a black block in the stored top-left corner.
fn marked() -> RgbImage {
    RgbImage::from_fn(640, 400, |x, y| {
        if x < 160 && y < 100 {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, 255, 255])
        }
    })
}

fn decode(r: &EncodedRendition) -> DynamicImage {
    image::load_from_memory(&r.bytes).expect("a rendition decodes")
}

fn rendition(out: &[EncodedRendition], kind: RenditionKind) -> &EncodedRendition {
    out.iter().find(|r| r.kind == kind).expect("rendition made")
}

/// The corner (as fractions of the image) where the black block is, in a grey image.
fn dark_corner(img: &DynamicImage) -> (bool, bool) {
    let g = img.to_luma8();
    let (w, h) = g.dimensions();
    let at = |fx: f32, fy: f32| g.get_pixel((w as f32 * fx) as u32, (h as f32 * fy) as u32)[0];
    let corners = [(0.05, 0.05), (0.95, 0.05), (0.05, 0.95), (0.95, 0.95)];
    let dark: Vec<_> = corners.iter().map(|&(x, y)| at(x, y) < 100).collect();
    assert_eq!(
        dark.iter().filter(|&&d| d).count(),
        1,
        "one dark corner expected"
    );
    let i = dark.iter().position(|&d| d).unwrap_or(0);
    (i % 2 == 1, i >= 2) // (right, bottom)
}

#[test]
fn every_rendition_is_turned_upright_for_all_eight_orientations() {
    let all = [
        Orientation::NoTransforms,
        Orientation::Rotate90,
        Orientation::Rotate180,
        Orientation::Rotate270,
        Orientation::FlipHorizontal,
        Orientation::FlipVertical,
        Orientation::Rotate90FlipH,
        Orientation::Rotate270FlipH,
    ];
    for o in all {
        let mut upright = DynamicImage::ImageRgb8(marked());
        upright.apply_orientation(o);
        let want = dark_corner(&upright);
        let page = DecodedPage {
            image: DynamicImage::ImageRgb8(marked()),
            dpi: None,
            orientation: o,
        };
        assert_eq!(
            page.upright_dimensions(),
            (upright.width(), upright.height())
        );
        let out = render_renditions(page).unwrap();
        for kind in RenditionKind::ALL {
            let r = rendition(&out, kind);
            let img = decode(r);
            assert_eq!((img.width(), img.height()), (r.width, r.height));
            let (uw, uh) = (upright.width(), upright.height());
            assert_eq!(
                uw > uh,
                r.width > r.height,
                "{o:?} {kind:?}: {}×{}",
                r.width,
                r.height
            );
            assert_eq!(dark_corner(&img), want, "{o:?} {kind:?}");
        }
        let ocr = decode(rendition(&out, RenditionKind::Ocr));
        assert_eq!(
            (ocr.width(), ocr.height()),
            (upright.width(), upright.height())
        );
    }
}

#[test]
fn grey_stays_grey_and_colour_becomes_rec601_grey_for_ocr() {
    let grey = GrayImage::from_fn(2000, 1000, |x, _| image::Luma([(x % 256) as u8]));
    let out = render_renditions(DecodedPage {
        image: DynamicImage::ImageLuma8(grey.clone()),
        dpi: None,
        orientation: Orientation::NoTransforms,
    })
    .unwrap();
    let preview = decode(rendition(&out, RenditionKind::Preview));
    assert!(
        matches!(preview, DynamicImage::ImageLuma8(_)),
        "a grey JPEG"
    );
    assert_eq!((preview.width(), preview.height()), (1600, 800));
    let ocr = decode(rendition(&out, RenditionKind::Ocr)).into_luma8();
    assert!(ocr == grey, "the OCR image of a grey page is the page");
    let thumb = decode(rendition(&out, RenditionKind::Thumb));
    assert_eq!((thumb.width(), thumb.height()), (256, 128));

    // Pure colours: Rec. 601 weights (77, 150, 29)/256, rounded.
    let colours = [
        ([255, 0, 0], 77),
        ([0, 255, 0], 149),
        ([0, 0, 255], 29),
        ([255, 255, 255], 255),
    ];
    let rgb = RgbImage::from_fn(400, 100, |x, _| Rgb(colours[(x / 100) as usize].0));
    let out = render_renditions(DecodedPage {
        image: DynamicImage::ImageRgb8(rgb),
        dpi: None,
        orientation: Orientation::NoTransforms,
    })
    .unwrap();
    let ocr = decode(rendition(&out, RenditionKind::Ocr)).into_luma8();
    for (i, (_, want)) in colours.iter().enumerate() {
        let got = ocr.get_pixel(i as u32 * 100 + 50, 50)[0];
        assert!(
            (got as i32 - want).abs() <= 1,
            "colour {i}: {got} vs {want}"
        );
    }
}

#[test]
fn transparent_areas_become_white_paper() {
    let rgba = RgbaImage::from_fn(300, 300, |x, _| {
        if x < 150 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 0, 0, 255])
        }
    });
    let out = render_renditions(DecodedPage {
        image: DynamicImage::ImageRgba8(rgba),
        dpi: None,
        orientation: Orientation::NoTransforms,
    })
    .unwrap();
    let ocr = decode(rendition(&out, RenditionKind::Ocr)).into_luma8();
    assert_eq!(ocr.get_pixel(10, 10)[0], 255, "transparent is paper");
    assert_eq!(ocr.get_pixel(290, 10)[0], 0, "opaque black stays black");
}

/// A photo-like RGB image (gradients and noise), so LZW strings are short and long.
fn photo(w: u32, h: u32) -> RgbImage {
    let mut x = 7u64;
    RgbImage::from_fn(w, h, |px, py| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let n = (x >> 60) as u8;
        Rgb([
            (px / 3) as u8 ^ n,
            (py / 2) as u8,
            (((px + py) / 5) as u8).wrapping_add(n),
        ])
    })
}

fn lzw_tiff(img: &RgbImage, predictor: tiff::tags::Predictor, rows_per_strip: u32) -> Vec<u8> {
    use tiff::encoder::{Compression, TiffEncoder, colortype};
    let mut buf = Cursor::new(Vec::new());
    let mut enc = TiffEncoder::new(&mut buf)
        .unwrap()
        .with_compression(Compression::Lzw)
        .with_predictor(predictor);
    let mut image = enc
        .new_image::<colortype::RGB8>(img.width(), img.height())
        .unwrap();
    image.rows_per_strip(rows_per_strip).unwrap();
    image.write_data(img.as_raw()).unwrap();
    buf.into_inner()
}

#[test]
fn lzw_tiff_pages_decode_to_their_pixels_with_and_without_predictor() {
    let img = photo(901, 517);
    for predictor in [
        tiff::tags::Predictor::None,
        tiff::tags::Predictor::Horizontal,
    ] {
        for rows in [1, 8, 517] {
            let bytes = lzw_tiff(&img, predictor, rows);
            let info = inspect(&bytes, &Limits::default()).unwrap();
            assert_eq!(info.mime, Mime::Tiff);
            let page = decode_page(&bytes, Mime::Tiff, 0, &Limits::default()).unwrap();
            match page.image {
                DynamicImage::ImageRgb8(got) => {
                    assert!(got == img, "{predictor:?}, {rows} rows a strip")
                }
                other => panic!("expected RGB, got {:?}", other.color()),
            }
        }
    }
}

#[test]
fn a_damaged_lzw_strip_is_a_clear_error_or_what_the_general_decoder_makes() {
    let img = photo(400, 300);
    let bytes = lzw_tiff(&img, tiff::tags::Predictor::None, 16);
    // Cut into the strips: the fast path declines, the general decoder decides.
    for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 40] {
        let mut b = bytes.clone();
        for x in &mut b[cut..cut + 20] {
            *x = 0xff;
        }
        match decode_page(&b, Mime::Tiff, 0, &Limits::default()) {
            Ok(p) => assert_eq!((p.image.width(), p.image.height()), (400, 300)),
            Err(e) => assert!(e.to_string().contains("TIFF"), "{e}"),
        }
    }
    // The same pixels as PNG through the same renditions: identical OCR images.
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let ocr = |bytes: &[u8], mime| {
        let page = decode_page(bytes, mime, 0, &Limits::default()).unwrap();
        let out = render_renditions(page).unwrap();
        rendition(&out, RenditionKind::Ocr).bytes.clone()
    };
    assert_eq!(ocr(&bytes, Mime::Tiff), ocr(&png, Mime::Png));
}

#[test]
fn an_ocr_image_over_the_engine_limit_is_reduced_to_fit_with_its_aspect() {
    let mut x = 3u64;
    let noise = GrayImage::from_fn(1200, 900, |_, _| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        image::Luma([(x >> 56) as u8])
    });
    let mut png = Vec::new();
    DynamicImage::ImageLuma8(noise)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    assert!(png.len() > 1_000_000, "noise does not compress");
    let max = 300_000;
    let limits = medidocs_media::OcrImageLimits {
        max_bytes: Some(max),
        max_side: None,
    };
    let small = medidocs_media::shrink_png_to_fit(&png, limits).unwrap();
    assert!(small.len() <= max, "{} bytes", small.len());
    let img = image::load_from_memory(&small).unwrap();
    assert!(img.width() < 1200 && img.width() > 400, "{}", img.width());
    let aspect = img.width() as f64 / img.height() as f64;
    assert!((aspect - 4.0 / 3.0).abs() < 0.01, "{aspect}");
    // Small enough already: unchanged.
    assert_eq!(
        medidocs_media::shrink_png_to_fit(&small, limits).unwrap(),
        small
    );
}

#[test]
fn an_ocr_image_over_the_engine_side_limit_is_reduced_to_it_with_its_aspect() {
    // A long fax strip: 300 x 12,500 pixels, small in bytes, too tall for Textract.
    let strip = GrayImage::from_fn(300, 12_500, |x, y| image::Luma([((x ^ y) & 0xff) as u8]));
    let mut png = Vec::new();
    DynamicImage::ImageLuma8(strip)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let limits = medidocs_media::OcrImageLimits {
        max_bytes: Some(10 * 1024 * 1024),
        max_side: Some(10_000),
    };
    assert!(png.len() < 10 * 1024 * 1024);
    let fitted = medidocs_media::shrink_png_to_fit(&png, limits).unwrap();
    let img = image::load_from_memory(&fitted).unwrap();
    assert_eq!(img.height(), 10_000);
    assert_eq!(img.width(), 240);
    // Within both limits: unchanged.
    assert_eq!(
        medidocs_media::shrink_png_to_fit(&fitted, limits).unwrap(),
        fitted
    );
    // Not a PNG: a clear error, not a panic.
    assert!(medidocs_media::shrink_png_to_fit(b"GIF89a....", limits).is_err());
}

/// Reads page `at` of `bytes` as the render step does: ranged reads until the planner asks
/// for nothing more. The parts, the bytes read, and the number of reads.
fn read_page_parts(bytes: &[u8], at: u64) -> (Option<PartialFile>, u64, usize) {
    let mut reads = TiffPageReads::new(at, Limits::default());
    let (mut read, mut count) = (0u64, 0usize);
    while let Some(ranges) = reads.next() {
        for r in ranges {
            let end = (r.end as usize).min(bytes.len());
            let start = (r.start as usize).min(end);
            reads.insert(r.start, bytes[start..end].to_vec());
            read += (end - start) as u64;
            count += 1;
        }
    }
    (reads.finish(), read, count)
}

/// A TIFF of `pages` uncompressed pages of different sizes and colour types, classic or
/// BigTIFF, and each page's own size in bytes.
fn many_pages(pages: u32, big: bool) -> (Vec<u8>, Vec<u64>) {
    use tiff::encoder::{TiffEncoder, TiffKind, colortype};
    fn write<K: TiffKind>(enc: &mut TiffEncoder<&mut Cursor<Vec<u8>>, K>, pages: u32) -> Vec<u64> {
        let mut own = Vec::new();
        for i in 0..pages {
            let (w, h) = (300 + 37 * i, 420 - 11 * i);
            let px = |p: u32| ((p * 7 + i * 31) % 251) as u8;
            if i % 2 == 0 {
                let data: Vec<u8> = (0..w * h).map(px).collect();
                enc.write_image::<colortype::Gray8>(w, h, &data).unwrap();
                own.push(data.len() as u64);
            } else {
                let data: Vec<u8> = (0..w * h * 3).map(px).collect();
                enc.write_image::<colortype::RGB8>(w, h, &data).unwrap();
                own.push(data.len() as u64);
            }
        }
        own
    }
    let mut out = Cursor::new(Vec::new());
    let own = if big {
        write(&mut TiffEncoder::new_big(&mut out).unwrap(), pages)
    } else {
        write(&mut TiffEncoder::new(&mut out).unwrap(), pages)
    };
    (out.into_inner(), own)
}

/// Every page of every TIFF here (multi-page, BigTIFF, and each sample's compression and
/// colour type) decodes from the parts of the file the planner asks for exactly as from
/// the whole file; a page of a multi-page file reads little more than its own bytes, in at
/// most three reads.
#[test]
fn a_tiff_page_decodes_from_its_own_parts_as_from_the_whole_file() {
    let limits = Limits::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<(String, Vec<u8>, Option<Vec<u64>>)> = Vec::new();
    for big in [false, true] {
        let (bytes, own) = many_pages(6, big);
        files.push((format!("generated, BigTIFF {big}"), bytes, Some(own)));
    }
    for folder in [
        "samples/documents",
        "samples/variants",
        "tests/corpus/ocr",
        "tests/corpus/tiff",
    ] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tif") {
                files.push((
                    path.display().to_string(),
                    std::fs::read(&path).unwrap(),
                    None,
                ));
            }
        }
    }
    let mut checked = 0;
    for (name, bytes, own) in &files {
        // Those the decoder does not read yet are each some code's `unsupported_type`.
        let Ok(inspection) = inspect(bytes, &limits) else {
            continue;
        };
        checked += 1;
        assert_eq!(
            inspection.directories.len(),
            inspection.pages as usize,
            "{name}"
        );
        for (i, &at) in inspection.directories.iter().enumerate() {
            // A page the decoder cannot read yet fails either way (the render step then
            // reads the whole original, whose error is the one shown).
            let Ok(whole) = decode_page(bytes, Mime::Tiff, i as u32, &limits) else {
                let (parts, _, _) = read_page_parts(bytes, at);
                assert!(parts.is_none_or(|p| decode_tiff_page_at(&p, at, i as u32 + 1, &limits).is_err()));
                continue;
            };
            let (parts, read, reads) = read_page_parts(bytes, at);
            let parts = parts.expect("the page's parts were all read");
            let part = decode_tiff_page_at(&parts, at, i as u32 + 1, &limits).unwrap();
            assert!(
                part.image == whole.image,
                "{name} page {}: other pixels",
                i + 1
            );
            assert_eq!(
                (part.dpi, part.orientation),
                (whole.dpi, whole.orientation),
                "{name}"
            );
            assert!(reads <= 3, "{name} page {}: {reads} reads", i + 1);
            if let Some(own) = own {
                assert!(
                    read <= own[i] + 100 * 1024,
                    "{name} page {}: read {read} bytes for a page of {}",
                    i + 1,
                    own[i]
                );
            }
        }
    }
    assert!(checked >= 12, "{checked} files checked");
}

/// Parts that do not hold what the page needs fail to decode with an error, never a wrong
/// picture or a panic; and a planner given garbage asks for nothing it cannot bound.
#[test]
fn a_tiff_page_missing_parts_is_an_error() {
    let limits = Limits::default();
    let (bytes, _) = many_pages(3, false);
    let at = inspect(&bytes, &limits).unwrap().directories[1];
    let (full, _, _) = read_page_parts(&bytes, at);
    assert!(decode_tiff_page_at(&full.unwrap(), at, 2, &limits).is_ok());
    let mut header_only = PartialFile::default();
    header_only.insert(0, bytes[..16].to_vec());
    assert!(decode_tiff_page_at(&header_only, at, 2, &limits).is_err());
    let mut junk = PartialFile::default();
    junk.insert(0, b"II*\0\x08\0\0\0\xff\xff".to_vec());
    let needs = tiff_page_needs(&junk, 8, &limits);
    let total: u64 = needs.iter().map(|r| r.end - r.start).sum();
    assert!(
        total <= 1024 * 1024,
        "asked for {total} bytes of a junk directory"
    );
    assert!(decode_tiff_page_at(&junk, 8, 1, &limits).is_err());
}

/// Damaged copies of a multi-page TIFF (bytes overwritten at many places, one copy cut
/// short): the reads stop within their rounds, read little more than the file, and
/// decoding from the parts never panics.
#[test]
fn damaged_tiffs_read_in_parts_end_in_an_answer() {
    let limits = Limits::default();
    let (clean, _) = many_pages(3, false);
    let directories = inspect(&clean, &limits).unwrap().directories;
    let mut seed = 0x9e37_79b9_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    let mut copies = vec![clean[..clean.len() / 2].to_vec()];
    for _ in 0..300 {
        let mut bytes = clean.clone();
        for _ in 0..1 + next() % 4 {
            // Mostly in the directories and the header, where the planner looks.
            let at = match next() % 3 {
                0 => next() % 16,
                1 => directories[next() % directories.len()] as usize + next() % 200,
                _ => next() % bytes.len(),
            };
            if let Some(b) = bytes.get_mut(at) {
                *b = next() as u8;
            }
        }
        copies.push(bytes);
    }
    for bytes in &copies {
        for (i, &at) in directories.iter().enumerate() {
            let (parts, read, count) = read_page_parts(bytes, at);
            assert!(count <= 10, "{count} reads");
            // Nearby ranges are read as one, so a little may be read twice.
            assert!(
                read <= 2 * bytes.len() as u64 + 64 * 1024,
                "read {read} bytes"
            );
            if let Some(parts) = parts {
                let _ = decode_tiff_page_at(&parts, at, i as u32 + 1, &limits);
            }
        }
    }
}
