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

use crate::bidi::{is_right_to_left, is_rtl_char, visual_to_logical};
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

/// A line of the text layer: words in logical order (right-to-left scripts as written),
/// and the clockwise angle of its baseline (0, 90, 180 or 270 degrees).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TextLayerLine {
    pub words: Vec<TextLayerWord>,
    pub angle: u16,
}

/// One page's text layer: its lines, each a run of words on one baseline (a wide gap, as
/// between two columns, starts another line; putting them in reading order is
/// the caller's work), and what the page draws besides.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TextLayerPage {
    pub lines: Vec<TextLayerLine>,
    /// Visible glyphs drawn with a Unicode value.
    pub glyphs: usize,
    /// Visible glyphs drawn without one (a font without a usable map): ink the layer
    /// cannot read.
    pub unmapped: usize,
    /// Boxes (left, top, width, height in page ratios) of the images the page draws over
    /// at least 2% of its area: a scan, a photograph, a logo.
    pub images: Vec<[f32; 4]>,
}

impl TextLayerPage {
    pub fn char_count(&self) -> usize {
        self.words().map(|w| w.text.chars().count()).sum()
    }

    pub fn words(&self) -> impl Iterator<Item = &TextLayerWord> {
        self.lines.iter().flat_map(|l| &l.words)
    }
}

#[derive(Debug, Clone)]
struct Glyph {
    ch: String,
    /// Origin and where the pen is after the glyph (origin plus advance), page space.
    origin: Point,
    end: Point,
    size: f64,
    /// Clockwise angle of the baseline, to the quarter turn.
    angle: u16,
}

impl Glyph {
    /// Position along the baseline and down the page of the text, in the glyph's frame.
    fn frame(&self, p: Point) -> (f64, f64) {
        match self.angle {
            90 => (p.y, -p.x),
            180 => (-p.x, -p.y),
            270 => (-p.y, p.x),
            _ => (p.x, p.y),
        }
    }

    /// The page-space box of the glyph: from its descent (a fifth of its size below the
    /// baseline) to its ascent (four fifths above), origin to pen.
    fn bounds(&self) -> Rect {
        let (dx, dy) = (self.end.x - self.origin.x, self.end.y - self.origin.y);
        let len = (dx * dx + dy * dy).sqrt();
        // "Up" for the text, in page space (y grows downwards): the baseline turned
        // a quarter anticlockwise.
        let (ux, uy) = if len > 0.0 {
            (dy / len, -dx / len)
        } else {
            let t = (self.angle as f64).to_radians();
            (t.sin(), -t.cos())
        };
        let mut r = Rect::new(self.origin.x, self.origin.y, self.origin.x, self.origin.y);
        for p in [self.origin, self.end] {
            for k in [0.8, -0.2] {
                let q = Point::new(p.x + ux * k * self.size, p.y + uy * k * self.size);
                r = r.union_pt(q);
            }
        }
        r
    }
}

struct TextDevice {
    glyphs: Vec<Glyph>,
    limit: usize,
    visible: usize,
    unmapped: usize,
    images: Vec<Rect>,
    /// Where the last glyph run started.
    last_run: Option<Point>,
}

impl<'a> Device<'a> for TextDevice {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        // Fill-and-stroke text arrives twice, a fill run then a stroke run from the same
        // origin: the fill pass already has it.
        let start = run
            .glyphs()
            .first()
            .map(|g| (props.transform * g.transform()) * Point::ORIGIN);
        let again = matches!(mode, DrawMode::Stroke(_))
            && matches!((start, self.last_run), (Some(a), Some(b)) if (a.x - b.x).abs() < 0.01 && (a.y - b.y).abs() < 0.01);
        self.last_run = start;
        if again {
            return;
        }
        let visible = !matches!(mode, DrawMode::Invisible);
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
                None => {
                    // A glyph with no outline (a space) is no ink.
                    let blank = match &**g {
                        hayro::hayro_interpret::font::Glyph::Outline(o) => {
                            o.outline().elements().is_empty()
                        }
                        hayro::hayro_interpret::font::Glyph::Type3(_) => false,
                    };
                    if visible && !blank {
                        self.unmapped += 1;
                    }
                    continue;
                }
            };
            if !origin.x.is_finite() || !origin.y.is_finite() || !size.is_finite() {
                continue;
            }
            if !end.x.is_finite() || !end.y.is_finite() {
                continue;
            }
            if visible && !ch.chars().all(char::is_whitespace) {
                self.visible += 1;
            }
            // Baseline direction from the glyph's own x axis (its advance may be zero).
            let ahead = m * Point::new(1000.0, 0.0);
            let degrees = (ahead.y - origin.y).atan2(ahead.x - origin.x).to_degrees();
            let angle = (((degrees + 360.0 + 45.0) % 360.0) / 90.0).floor() as u16 % 4 * 90;
            self.glyphs.push(Glyph {
                ch,
                origin,
                end,
                size: size.max(0.1),
                angle,
            });
        }
    }
    fn draw_image(&mut self, image: Image<'a, '_>, props: ImageDrawProps<'a>) {
        let _ = image;
        let corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
            .map(|(x, y)| props.transform * Point::new(x, y));
        if corners.iter().all(|p| p.x.is_finite() && p.y.is_finite()) && self.images.len() < 10_000
        {
            let r = corners[1..]
                .iter()
                .fold(Rect::from_points(corners[0], corners[0]), |r, &p| {
                    r.union_pt(p)
                });
            self.images.push(r);
        }
    }
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
            visible: 0,
            unmapped: 0,
            images: Vec::new(),
            last_run: None,
        };
        interpret_page(page, &mut ctx, &mut dev);
        let page_area = Rect::new(0.0, 0.0, w, h);
        let images = dev
            .images
            .iter()
            .map(|r| r.intersect(page_area))
            .filter(|r| r.width() > 0.0 && r.height() > 0.0 && r.area() >= 0.02 * w * h)
            .map(|r| {
                [
                    (r.x0 / w) as f32,
                    (r.y0 / h) as f32,
                    (r.width() / w) as f32,
                    (r.height() / h) as f32,
                ]
            })
            .collect();
        Ok(TextLayerPage {
            lines: group(dev.glyphs, w, h),
            glyphs: dev.visible,
            unmapped: dev.unmapped,
            images,
        })
    })
}

/// A gap along the baseline wider than this many times the font size ends a line: two
/// columns side by side, or a form's label and its value far apart, are read as separate
/// lines (and put back together, where they belong together, by the reading order).
const LINE_GAP: f64 = 1.5;

/// Groups glyphs into lines (by orientation, then baseline, then wide gaps) and words (by
/// spaces and gaps), words in logical order.
fn group(mut glyphs: Vec<Glyph>, w: f64, h: f64) -> Vec<TextLayerLine> {
    glyphs.retain(|g| {
        let o = g.origin;
        o.x >= -1.0 && o.y >= -1.0 && o.x <= w + 1.0 && o.y <= h + 1.0
    });
    let page_rtl = is_right_to_left(glyphs.iter().map(|g| g.ch.as_str()));
    let mut out = Vec::new();
    for angle in [0, 90, 180, 270] {
        let mut these: Vec<(f64, f64, Glyph)> = glyphs
            .iter()
            .filter(|g| g.angle == angle)
            .map(|g| {
                let (u, v) = g.frame(g.origin);
                (u, v, g.clone())
            })
            .collect();
        // Lines: sort by baseline, cluster baselines closer than 40% of the font size.
        these.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
        let mut lines: Vec<Vec<(f64, f64, Glyph)>> = Vec::new();
        for g in these {
            match lines.last_mut() {
                Some(line) if (g.1 - line[0].1).abs() <= 0.4 * line[0].2.size.max(g.2.size) => {
                    line.push(g)
                }
                _ => lines.push(vec![g]),
            }
        }
        for mut line in lines {
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut words: Vec<Vec<&Glyph>> = Vec::new();
            let mut cur: Vec<&Glyph> = Vec::new();
            let mut prev: Option<(f64, &Glyph)> = None;
            for (u, _, g) in &line {
                let is_space = g.ch.chars().all(char::is_whitespace);
                let gap = prev.map(|(_, p)| u - p.frame(p.end).0).unwrap_or(0.0);
                let size = prev.map_or(g.size, |(_, p)| p.size.max(g.size));
                if gap > LINE_GAP * size && (!cur.is_empty() || !words.is_empty()) {
                    if !cur.is_empty() {
                        words.push(std::mem::take(&mut cur));
                    }
                    out.extend(text_line(std::mem::take(&mut words), angle, page_rtl, w, h));
                }
                // A word ends where the pen jumps further than a fraction of a space's width.
                if (is_space || gap > 0.15 * size) && !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                if !is_space {
                    cur.push(g);
                }
                prev = Some((*u, g));
            }
            if !cur.is_empty() {
                words.push(cur);
            }
            out.extend(text_line(words, angle, page_rtl, w, h));
        }
    }
    out
}

/// A line from its words' glyphs, as drawn (left to right in the text's frame), put in
/// logical order.
fn text_line(
    words: Vec<Vec<&Glyph>>,
    angle: u16,
    page_rtl: bool,
    w: f64,
    h: f64,
) -> Option<TextLayerLine> {
    if words.is_empty() {
        return None;
    }
    let visual: Vec<String> = words
        .iter()
        .map(|g| g.iter().map(|g| g.ch.as_str()).collect())
        .collect();
    let refs: Vec<&str> = visual.iter().map(String::as_str).collect();
    let has_rtl = refs.iter().any(|t| t.chars().any(is_rtl_char));
    let rtl = has_rtl && (page_rtl || is_right_to_left(refs.iter().copied()));
    let (order, texts) = visual_to_logical(&refs, rtl);
    let mut texts: Vec<Option<String>> = texts.into_iter().map(Some).collect();
    let words = order
        .into_iter()
        .map(|i| {
            let r = words[i]
                .iter()
                .map(|g| g.bounds())
                .reduce(|a, b| a.union(b))
                .unwrap_or_default();
            TextLayerWord {
                text: texts[i].take().unwrap_or_default(),
                left: (r.x0 / w).clamp(0.0, 1.0) as f32,
                top: (r.y0 / h).clamp(0.0, 1.0) as f32,
                width: (r.width() / w).clamp(0.0, 1.0) as f32,
                height: (r.height() / h).clamp(0.0, 1.0) as f32,
            }
        })
        .collect();
    Some(TextLayerLine { words, angle })
}
