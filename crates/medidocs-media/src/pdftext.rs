//! The text layer of born-digital PDF pages, with word positions, read by interpreting the
//! page's content stream with hayro and collecting every glyph's Unicode value and origin
//! (invisible text included, which is how scanners store their own OCR).

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_syntax::object::Dict;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, SoftMask, interpret_page,
};
use hayro::kurbo::{BezPath, Point, Rect};

use crate::decode::open_pdf;
use crate::{MediaError, guard};

/// A word of the text layer. Box in page-relative ratios (0..1, origin top-left).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextLayerWord {
    pub text: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// One page's text layer: lines in reading order (top to bottom, then left to right).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TextLayerPage {
    pub lines: Vec<Vec<TextLayerWord>>,
}

impl TextLayerPage {
    pub fn char_count(&self) -> usize {
        self.lines
            .iter()
            .flatten()
            .map(|w| w.text.chars().count())
            .sum()
    }
}

#[derive(Debug, Clone)]
struct Glyph {
    ch: String,
    x: f64,
    /// Where the pen is after this glyph (its origin plus its advance).
    x_end: f64,
    y: f64,
    size: f64,
}

struct TextDevice {
    glyphs: Vec<Glyph>,
    limit: usize,
}

impl<'a> Device<'a> for TextDevice {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        if matches!(mode, DrawMode::Stroke(_)) {
            // Fill-and-stroke text arrives twice; the fill pass already has it.
            if let (Some(first), Some(last)) = (run.glyphs().first(), self.glyphs.last()) {
                let o = (props.transform * first.transform()) * Point::ORIGIN;
                if (o.x - last.x).abs() < 0.01 && (o.y - last.y).abs() < 0.01 {
                    return;
                }
            }
        }
        for g in run.glyphs() {
            if self.glyphs.len() >= self.limit {
                return;
            }
            let m = props.transform * g.transform();
            let origin = m * Point::ORIGIN;
            let up = m * Point::new(0.0, 1000.0);
            let size = ((up.x - origin.x).powi(2) + (up.y - origin.y).powi(2)).sqrt();
            let advance = match &**g {
                hayro::hayro_interpret::font::Glyph::Outline(o) => o.advance_width(),
                hayro::hayro_interpret::font::Glyph::Type3(t) => t.advance_width(),
            }
            .filter(|a| a.is_finite() && *a > 0.0)
            .unwrap_or(500.0);
            let end = m * Point::new(advance as f64, 0.0);
            let ch = match g.as_unicode() {
                Some(hayro::hayro_interpret::hayro_cmap::BfString::Char(c)) => c.to_string(),
                Some(hayro::hayro_interpret::hayro_cmap::BfString::String(s)) => s,
                None => continue,
            };
            if !origin.x.is_finite() || !origin.y.is_finite() || !size.is_finite() {
                continue;
            }
            self.glyphs.push(Glyph {
                ch,
                x: origin.x,
                x_end: end.x.max(origin.x),
                y: origin.y,
                size: size.max(0.1),
            });
        }
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
    fn begin_marked_content(&mut self, _tag: &[u8], _properties: Option<&Dict<'_>>) {}
}

/// Reads the text layer of page `index` (0-based). A page without text (a scan) gives an
/// empty page, not an error.
pub fn pdf_text_layer(bytes: &[u8], index: u32) -> Result<TextLayerPage, MediaError> {
    guard("PDF text", || {
        let pdf = open_pdf(bytes)?;
        let pages = pdf.pages();
        let page = pages.get(index as usize).ok_or_else(|| {
            MediaError::Corrupt(format!("PDF: page {} does not exist", index + 1))
        })?;
        let (w, h) = page.render_dimensions();
        let (w, h) = (w.max(1.0) as f64, h.max(1.0) as f64);
        let cache = InterpreterCache::new();
        let mut ctx = Context::new(
            page.initial_transform(true).to_kurbo(),
            Rect::new(0.0, 0.0, w, h),
            &cache,
            page.xref(),
            InterpreterSettings::default(),
        );
        let mut dev = TextDevice {
            glyphs: Vec::new(),
            limit: 2_000_000,
        };
        interpret_page(page, &mut ctx, &mut dev);
        Ok(group(dev.glyphs, w, h))
    })
}

/// Groups glyphs into lines (by baseline) and words (by spaces and gaps).
fn group(mut glyphs: Vec<Glyph>, w: f64, h: f64) -> TextLayerPage {
    glyphs.retain(|g| g.x >= -1.0 && g.y >= -1.0 && g.x <= w + 1.0 && g.y <= h + 1.0);
    if glyphs.is_empty() {
        return TextLayerPage::default();
    }
    // Lines: sort by baseline, cluster baselines closer than 40% of the font size.
    glyphs.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Vec<Glyph>> = Vec::new();
    for g in glyphs {
        match lines.last_mut() {
            Some(line) if (g.y - line[0].y).abs() <= 0.4 * line[0].size.max(g.size) => line.push(g),
            _ => lines.push(vec![g]),
        }
    }
    let mut page = TextLayerPage::default();
    for mut line in lines {
        line.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut words: Vec<TextLayerWord> = Vec::new();
        let mut cur: Vec<&Glyph> = Vec::new();
        let flush = |cur: &mut Vec<&Glyph>, words: &mut Vec<TextLayerWord>| {
            if cur.is_empty() {
                return;
            }
            let text: String = cur.iter().map(|g| g.ch.as_str()).collect();
            let size = cur.iter().map(|g| g.size).fold(0.0, f64::max);
            let x0 = cur[0].x;
            let last = cur[cur.len() - 1];
            let x1 = last.x_end;
            let base = cur.iter().map(|g| g.y).fold(f64::MIN, f64::max);
            let top = base - 0.8 * size;
            let height = size;
            words.push(TextLayerWord {
                text,
                left: (x0 / w).clamp(0.0, 1.0) as f32,
                top: (top / h).clamp(0.0, 1.0) as f32,
                width: ((x1 - x0) / w).clamp(0.0, 1.0) as f32,
                height: (height / h).clamp(0.0, 1.0) as f32,
            });
            cur.clear();
        };
        let mut prev: Option<&Glyph> = None;
        for g in &line {
            let is_space = g.ch.chars().all(char::is_whitespace);
            // A word ends where the pen jumps further than a fraction of a space's width.
            let gap = prev
                .map(|p| g.x - p.x_end > 0.15 * p.size.max(g.size))
                .unwrap_or(false);
            if is_space || gap {
                flush(&mut cur, &mut words);
            }
            if !is_space {
                cur.push(g);
            }
            prev = Some(g);
        }
        flush(&mut cur, &mut words);
        if !words.is_empty() {
            page.lines.push(words);
        }
    }
    page
}
