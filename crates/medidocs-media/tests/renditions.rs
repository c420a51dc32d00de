//! Renditions from one decode: orientation applied to every rendition, grey kept grey,
//! transparency on white, and the fast TIFF LZW path equal to the general decoder.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use medidocs_media::{
    DecodedPage, EncodedRendition, Limits, Mime, RenditionKind, decode_page, inspect,
    render_renditions,
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
