//! A TIFF page's 8-bit samples to colours: grey either way round, RGB, palette, CMYK and
//! YCbCr, with alpha (straight or premultiplied) where the page has it.

use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

use super::page::{Layout, Photometric};
use crate::MediaError;

/// Subsampled YCbCr data units (sh×sv luma samples, then Cb and Cr) as one Y, Cb and Cr per
/// pixel, `w`×`rows`.
pub(super) fn expand_subsampled(raw: &[u8], w: u32, rows: u32, sh: u32, sv: u32) -> Vec<u8> {
    let (w, rows, sh, sv) = (w as usize, rows as usize, sh as usize, sv as usize);
    let mut out = vec![0u8; w * rows * 3];
    let unit = sh * sv + 2;
    let units_across = w.div_ceil(sh);
    for (u, data) in raw.chunks_exact(unit).enumerate() {
        let (ux, uy) = ((u % units_across) * sh, (u / units_across) * sv);
        if uy >= rows {
            break;
        }
        let (cb, cr) = (data[sh * sv], data[sh * sv + 1]);
        for dy in 0..sv {
            for dx in 0..sh {
                let (x, y) = (ux + dx, uy + dy);
                if x < w && y < rows {
                    let p = (y * w + x) * 3;
                    out[p..p + 3].copy_from_slice(&[data[dy * sh + dx], cb, cr]);
                }
            }
        }
    }
    out
}

/// The page's interleaved 8-bit samples as an image.
pub(super) fn to_image(layout: &Layout, samples: Vec<u8>) -> Result<DynamicImage, MediaError> {
    let (w, h) = (layout.width, layout.height);
    let spp = layout.spp as usize;
    let short = || MediaError::Corrupt("TIFF: short sample data".into());
    let alpha = layout.alpha;
    // Straight alpha from a premultiplied colour.
    let unpremultiply = |c: u8, a: u8| -> u8 {
        if a == 0 {
            0
        } else {
            ((c as u32 * 255 + a as u32 / 2) / a as u32).min(255) as u8
        }
    };
    let img = match layout.photometric {
        Photometric::WhiteIsZero | Photometric::BlackIsZero => {
            let invert = layout.photometric == Photometric::WhiteIsZero;
            let grey = |v: u8| if invert { 255 - v } else { v };
            match alpha {
                None if spp == 1 => {
                    let mut v = samples;
                    if invert {
                        v.iter_mut().for_each(|x| *x = 255 - *x);
                    }
                    DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v).ok_or_else(short)?)
                }
                None => DynamicImage::ImageLuma8(
                    GrayImage::from_raw(
                        w,
                        h,
                        samples.chunks_exact(spp).map(|p| grey(p[0])).collect(),
                    )
                    .ok_or_else(short)?,
                ),
                Some(associated) => {
                    let rgba = samples
                        .chunks_exact(spp)
                        .flat_map(|p| {
                            let (g, a) = (p[0], p[1]);
                            let g = grey(if associated { unpremultiply(g, a) } else { g });
                            [g, g, g, a]
                        })
                        .collect();
                    DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, rgba).ok_or_else(short)?)
                }
            }
        }
        Photometric::Rgb => match alpha {
            None if spp == 3 => {
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, samples).ok_or_else(short)?)
            }
            None => DynamicImage::ImageRgb8(
                RgbImage::from_raw(
                    w,
                    h,
                    samples
                        .chunks_exact(spp)
                        .flat_map(|p| [p[0], p[1], p[2]])
                        .collect(),
                )
                .ok_or_else(short)?,
            ),
            Some(associated) => {
                let rgba = samples
                    .chunks_exact(spp)
                    .flat_map(|p| {
                        let a = p[3];
                        if associated {
                            [
                                unpremultiply(p[0], a),
                                unpremultiply(p[1], a),
                                unpremultiply(p[2], a),
                                a,
                            ]
                        } else {
                            [p[0], p[1], p[2], a]
                        }
                    })
                    .collect();
                DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, rgba).ok_or_else(short)?)
            }
        },
        Photometric::Palette => {
            let map = layout.color_map.as_deref().unwrap_or_default();
            let entries = 1usize << layout.bits;
            // 16-bit map entries; some writers store 8-bit values in them.
            let eight = map.iter().all(|&v| v < 256);
            let c = |v: u64| if eight { v as u8 } else { (v >> 8) as u8 };
            let rgb = samples
                .chunks_exact(spp)
                .flat_map(|p| {
                    let i = (p[0] as usize).min(entries - 1);
                    [c(map[i]), c(map[entries + i]), c(map[2 * entries + i])]
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(short)?)
        }
        Photometric::Cmyk => {
            let rgb = |p: &[u8]| super::cmyk_to_rgb(p[0], p[1], p[2], p[3]);
            match alpha {
                None => DynamicImage::ImageRgb8(
                    RgbImage::from_raw(w, h, samples.chunks_exact(spp).flat_map(rgb).collect())
                        .ok_or_else(short)?,
                ),
                Some(associated) => {
                    let rgba = samples
                        .chunks_exact(spp)
                        .flat_map(|p| {
                            let a = p[4];
                            let [r, g, b] = rgb(p);
                            if associated {
                                [
                                    unpremultiply(r, a),
                                    unpremultiply(g, a),
                                    unpremultiply(b, a),
                                    a,
                                ]
                            } else {
                                [r, g, b, a]
                            }
                        })
                        .collect();
                    DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, rgba).ok_or_else(short)?)
                }
            }
        }
        Photometric::YCbCr => {
            let [kr, kg, kb] = layout.ycbcr;
            let r = layout.reference;
            // Each component from its reference black and white to its nominal range.
            let scale = |v: u8, black: f32, white: f32, full: f32| {
                (v as f32 - black) * full / (white - black)
            };
            let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            let rgb = samples
                .chunks_exact(spp)
                .flat_map(|p| {
                    let y = scale(p[0], r[0], r[1], 255.0);
                    let cb = scale(p[1], r[2], r[3], 127.0);
                    let cr = scale(p[2], r[4], r[5], 127.0);
                    let red = y + cr * (2.0 - 2.0 * kr);
                    let blue = y + cb * (2.0 - 2.0 * kb);
                    let green = (y - kb * blue - kr * red) / kg;
                    [clamp(red), clamp(green), clamp(blue)]
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(short)?)
        }
    };
    Ok(img)
}
