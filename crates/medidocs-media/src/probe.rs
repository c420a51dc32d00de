//! A probe: a few of a page's lines of running text, cut out of its OCR image, for the OCR
//! engine to read first and so decide the page's language before reading all of it.
//!
//! Reading costs about the same for every line of text, so a page in another language than
//! its region's default used to be read twice: once in the default, to find its language,
//! and again in its own. Reading a probe of about a line first costs a few per cent of the
//! page instead of all of it.
//!
//! Which lines: the lines of ordinary height holding the most text (the width their words
//! cover, a table's gutters left out), which on a letter or a report are its paragraphs,
//! rich in the function words and accents that tell languages apart; not a letterhead or
//! a name (short lines), a table's rows (gutters), its rules or a photograph (too dense,
//! too tall or too thin, or without the blanks between letters). Pure pixel work: found from the rows and
//! columns holding ink after Otsu's threshold, with no OCR.

use crate::rendition::GreyPixels;

/// A line of text found on the page: its rows and the columns holding ink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
    /// The width its words cover, the gutters of a table's row left out.
    text: u32,
}

/// Lines of ordinary height are within these factors of the page's median line height.
const HEIGHT_RANGE: (f32, f32) = (0.6, 1.6);
/// Text leaves most of its line's box blank; a bar or a photograph does not.
const MAX_INK_DENSITY: f32 = 0.5;
/// A character's width, in line heights (a line is about 1.3 em; an average character,
/// space included, half an em).
const CHAR_WIDTH: f32 = 0.4;
/// Lines holding less text than this share of the fullest line are not a paragraph's.
const MIN_TEXT_SHARE: f32 = 0.5;
/// A blank this many line heights wide is a table's gutter, not a space between words.
const GUTTER: f32 = 1.5;
/// Text lines this short (pixels) are too small to read.
const MIN_LINE_HEIGHT: u32 = 8;
/// A line of text is at most this share (1/n) of its page's height.
const MIN_LINES_TALL: f32 = 8.0;
/// A line of text has at least one ink-to-blank step every this many line heights
/// (about five characters).
const MIN_STEP_EVERY: f32 = 2.0;
/// A page gets probes only when its running text is at least this many probes' worth:
/// a probe then costs at most a tenth of the page's reading.
const MIN_TEXT_IN_PROBES: f32 = 10.0;

/// Up to `count` probes of about `chars_each` characters each of the page's running text,
/// each piece of a line on its own line with a margin of the page's background around it;
/// later probes hold further text. None when the page shows no lines of text to take
/// (blank, a photograph, sideways).
pub fn text_probes(page: &GreyPixels, chars_each: u32, count: usize) -> Vec<GreyPixels> {
    probes(page, chars_each, count).unwrap_or_default()
}

fn probes(page: &GreyPixels, chars_each: u32, count: usize) -> Option<Vec<GreyPixels>> {
    let (w, h) = (page.width as usize, page.height as usize);
    if w == 0 || h == 0 || page.pixels.len() != w.checked_mul(h)? {
        return None;
    }
    let hist = histogram(&page.pixels, w);
    let threshold = otsu(&hist)?;
    let ink: Vec<u32> = page
        .pixels
        .chunks_exact(w)
        .map(|row| row.iter().map(|&p| (p <= threshold) as u32).sum())
        .collect();
    // More ink than background: a negative or a photograph, not a page of text.
    let total: u64 = ink.iter().map(|&n| n as u64).sum();
    if total * 2 > (w * h) as u64 || total == 0 {
        return None;
    }
    let speck = (w as u32 / 1000).max(2);
    let mut runs = Vec::new();
    let mut start = None;
    for (y, &n) in ink.iter().chain(std::iter::once(&0)).enumerate() {
        match (n >= speck, start) {
            (true, None) => start = Some(y as u32),
            (false, Some(s)) => {
                runs.push((s, y as u32));
                start = None;
            }
            _ => {}
        }
    }
    let mut heights: Vec<u32> = runs
        .iter()
        .map(|(a, b)| b - a)
        .filter(|&d| d >= MIN_LINE_HEIGHT / 2)
        .collect();
    if heights.is_empty() {
        return None;
    }
    heights.sort_unstable();
    let median = heights[heights.len() / 2];
    if median < MIN_LINE_HEIGHT {
        return None;
    }
    let (lo, hi) = (
        median as f32 * HEIGHT_RANGE.0,
        (median as f32 * HEIGHT_RANGE.1).min(h as f32 / MIN_LINES_TALL),
    );
    let lines: Vec<(Line, Vec<bool>)> = runs
        .iter()
        .filter(|(a, b)| ((b - a) as f32) >= lo && ((b - a) as f32) <= hi)
        .filter_map(|&(top, bottom)| {
            let mut columns = vec![false; w];
            for row in page.pixels[top as usize * w..bottom as usize * w].chunks_exact(w) {
                for (c, &p) in columns.iter_mut().zip(row) {
                    *c |= p <= threshold;
                }
            }
            let left = columns.iter().position(|&c| c)? as u32;
            let right = columns.iter().rposition(|&c| c)? as u32 + 1;
            let (width, height) = (right - left, bottom - top);
            let count: u64 = ink[top as usize..bottom as usize]
                .iter()
                .map(|&n| n as u64)
                .sum();
            // Letters and words leave blank columns between them: a line of text has about
            // one ink-to-blank step per character; a photograph's band or a bar few.
            let inked = &columns[left as usize..right as usize];
            let steps = inked.windows(2).filter(|p| p[0] && !p[1]).count() as f32;
            let text_like = count as f32 <= MAX_INK_DENSITY * (width as u64 * height as u64) as f32
                && steps >= width as f32 / (MIN_STEP_EVERY * height as f32);
            let text = words_width(inked, GUTTER * height as f32);
            text_like.then_some((
                Line {
                    top,
                    bottom,
                    left,
                    right,
                    text,
                },
                columns,
            ))
        })
        .collect();
    // A page with little running text gets no probe: reading it whole a second time, when
    // it is in another language than the default, costs less than probing every such page.
    let chars: f32 = lines
        .iter()
        .map(|(l, _)| l.text as f32 / (CHAR_WIDTH * median as f32))
        .sum();
    if chars < MIN_TEXT_IN_PROBES * chars_each as f32 {
        return None;
    }
    let most = lines.iter().map(|(l, _)| l.text).max()?;
    let mut order: Vec<&(Line, Vec<bool>)> = lines
        .iter()
        .filter(|(l, _)| l.text as f32 >= MIN_TEXT_SHARE * most as f32)
        .collect();
    // Most text first (a paragraph's lines before a table's rows); among equals, top first.
    order.sort_by_key(|(l, _)| (std::cmp::Reverse(l.text), l.top));
    let each = (chars_each.max(1) as f32 * CHAR_WIDTH * median as f32) as u32;
    let gap = (median / 4).max(2) as usize;
    let background = background(&hist, threshold);
    let mut lines = order.into_iter().peekable();
    // Where the next piece starts on the line at the head of `lines`.
    let mut from: Option<u32> = None;
    let mut probes = Vec::new();
    while probes.len() < count {
        let mut need = each;
        let mut pieces = Vec::new();
        while need > 0 {
            let Some((line, columns)) = lines.peek() else {
                break;
            };
            // The piece starts at the line's next ink.
            let start = from.unwrap_or(line.left) as usize;
            let Some(left) = (start..line.right as usize).find(|&x| columns[x]) else {
                lines.next();
                from = None;
                continue;
            };
            // It ends at the first blank between words after the length wanted.
            let right = (left + need as usize..line.right as usize)
                .find(|&x| columns[x..(x + gap).min(w)].iter().all(|&c| !c))
                .map_or(line.right, |x| x as u32);
            pieces.push(Line {
                left: left as u32,
                right,
                ..*line
            });
            need = need.saturating_sub(right - left as u32);
            if right >= line.right {
                lines.next();
                from = None;
            } else {
                from = Some(right);
            }
        }
        if pieces.is_empty() {
            break;
        }
        probes.push(compose(page, &mut pieces, median / 2, background));
    }
    Some(probes)
}

/// The pieces, in page order, one under another on the page's background.
fn compose(page: &GreyPixels, pieces: &mut [Line], margin: u32, background: u8) -> GreyPixels {
    let w = page.width as usize;
    pieces.sort_by_key(|p| (p.top, p.left));
    let out_w = pieces.iter().map(|p| p.right - p.left).max().unwrap_or(0) + 2 * margin;
    let out_h: u32 = pieces.iter().map(|p| p.bottom - p.top + 2 * margin).sum();
    let mut pixels = vec![background; out_w as usize * out_h as usize];
    let mut y = margin;
    for p in pieces.iter() {
        for row in p.top..p.bottom {
            let src =
                &page.pixels[row as usize * w + p.left as usize..][..(p.right - p.left) as usize];
            let at = (y + row - p.top) as usize * out_w as usize + margin as usize;
            pixels[at..at + src.len()].copy_from_slice(src);
        }
        y += p.bottom - p.top + 2 * margin;
    }
    GreyPixels {
        width: out_w,
        height: out_h,
        pixels,
    }
}

/// The page's grey levels, from every fourth row (a page's levels are the same in its
/// quarter; the count costs a quarter).
fn histogram(pixels: &[u8], width: usize) -> [u64; 256] {
    let mut hist = [0u64; 256];
    for row in pixels.chunks_exact(width).step_by(4) {
        for &p in row {
            hist[p as usize] += 1;
        }
    }
    hist
}

/// The width of a line's columns holding ink, blanks narrower than `gutter` counted with
/// the words they separate.
fn words_width(columns: &[bool], gutter: f32) -> u32 {
    let (mut width, mut blank) = (0u32, 0u32);
    for &c in columns {
        if c {
            if (blank as f32) < gutter {
                width += blank;
            }
            width += 1;
            blank = 0;
        } else {
            blank += 1;
        }
    }
    width
}

/// Otsu's threshold: the grey level that best splits the page into ink and background.
/// `None` for a page of one level.
fn otsu(hist: &[u64; 256]) -> Option<u8> {
    let total: f64 = hist.iter().sum::<u64>() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut below, mut sum_below) = (0f64, 0f64);
    let mut best: Option<(f64, u8)> = None;
    for (t, &n) in hist.iter().enumerate() {
        below += n as f64;
        sum_below += t as f64 * n as f64;
        let above = total - below;
        if below == 0.0 || above == 0.0 {
            continue;
        }
        let (m0, m1) = (sum_below / below, (sum_all - sum_below) / above);
        let between = below * above * (m0 - m1) * (m0 - m1);
        if best.is_none_or(|(b, _)| between > b) {
            best = Some((between, t as u8));
        }
    }
    best.map(|(_, t)| t)
}

/// The page's background: the median level of what is lighter than the threshold.
fn background(hist: &[u64; 256], threshold: u8) -> u8 {
    let light = &hist[threshold as usize + 1..];
    let half = light.iter().sum::<u64>() / 2;
    let mut seen = 0;
    for (i, &n) in light.iter().enumerate() {
        seen += n;
        if seen > half {
            return threshold + 1 + i as u8;
        }
    }
    255
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of `bg` with dark boxes (x, y, w, h) standing for words.
    fn page(w: u32, h: u32, bg: u8, boxes: &[(u32, u32, u32, u32)]) -> GreyPixels {
        let mut pixels = vec![bg; (w * h) as usize];
        for &(x, y, bw, bh) in boxes {
            for yy in y..y + bh {
                for xx in x..x + bw {
                    // Words are strokes: every third column inked.
                    if xx % 3 == 0 {
                        pixels[(yy * w + xx) as usize] = 20;
                    }
                }
            }
        }
        GreyPixels {
            width: w,
            height: h,
            pixels,
        }
    }

    /// A line of words of `word` pixels with 12-pixel gaps from `x0` to `x1`, `lh` tall.
    fn line(y: u32, x0: u32, x1: u32, lh: u32, word: u32) -> Vec<(u32, u32, u32, u32)> {
        (0..)
            .map(|i| x0 + i * (word + 12))
            .take_while(|x| x + word <= x1)
            .map(|x| (x, y, word, lh))
            .collect()
    }

    #[test]
    fn the_probe_takes_the_paragraph_lines_not_the_heading_or_the_rule() {
        let mut boxes = Vec::new();
        // A short heading, a long rule (thin and solid), then ten paragraph lines.
        boxes.extend(line(100, 100, 500, 30, 60));
        boxes.push((100, 180, 1400, 3));
        for i in 0..10 {
            boxes.extend(line(260 + i * 60, 100, 1500, 30, 70));
        }
        let p = page(1654, 1000, 235, &boxes);
        // 60 characters at 0.4 × 30 px: 720 px of one paragraph line, cut between words.
        let probe = text_probes(&p, 60, 1).pop().expect("a probe");
        let margin = 30 / 2;
        assert_eq!(probe.height, 30 + 2 * margin, "one line");
        let inked = probe.width - 2 * margin;
        assert!((720..720 + 82).contains(&inked), "{}", probe.width);
        // Its first piece is the first paragraph line from its first ink (column 102), its
        // background the page's.
        assert_eq!(probe.pixels[0], 235);
        let src_row = 260 + 5;
        let row = (margin + 5) as usize * probe.width as usize;
        assert_eq!(
            &probe.pixels[row + margin as usize..][..100],
            &p.pixels[(src_row * 1654 + 102) as usize..][..100]
        );
    }

    #[test]
    fn a_paragraph_comes_before_a_wider_table() {
        // Twelve table rows across the page (four cells with wide gutters), then four
        // paragraph lines, narrower but full of words.
        let mut boxes = Vec::new();
        for i in 0..12 {
            for x in [100, 600, 900, 1300] {
                boxes.extend(line(100 + i * 50, x, x + 200, 30, 60));
            }
        }
        for i in 0..4 {
            boxes.extend(line(800 + i * 50, 100, 1200, 30, 70));
        }
        let p = page(1654, 1200, 240, &boxes);
        let probe = text_probes(&p, 40, 1).pop().expect("a probe");
        assert_eq!(probe.height, 60, "one piece");
        // The piece is the first paragraph line's start, not a row of the table.
        let row = 15 * probe.width as usize + 15;
        assert_eq!(
            &probe.pixels[row..][..300],
            &p.pixels[(800 * 1654 + 102) as usize..][..300]
        );
    }

    #[test]
    fn a_longer_probe_takes_several_lines_in_page_order() {
        let mut boxes = Vec::new();
        for i in 0..30 {
            boxes.extend(line(100 + i * 60, 100, 1100, 30, 70));
        }
        let p = page(1200, 2000, 255, &boxes);
        // 200 characters: 2,400 px, about two and a half lines of 1,000.
        let probe = text_probes(&p, 200, 1).pop().expect("a probe");
        assert_eq!(probe.height, 3 * 60, "three lines");
        // Probes of 50 characters (600 px) each: each line of 972 px gives one probe and
        // part of the next, and the next probe starts where the last ended.
        let probes = text_probes(&p, 50, 3);
        assert_eq!(probes.len(), 3);
        assert_eq!(probes[0].height, 60, "{:?}", probes[0].height);
        assert_eq!(
            probes[1].height,
            2 * 60,
            "the rest of line 1, the start of line 2"
        );
        // The one-piece probes run to the first gap between words after 600 px.
        for one in [&probes[0], &probes[2]] {
            assert_eq!(one.height, 60);
            assert!((600..700).contains(&(one.width - 30)), "{}", one.width);
        }
        // Pieces never repeat: the probes hold no more text than the lines.
        let inked: u64 = probes
            .iter()
            .map(|p| p.pixels.iter().filter(|&&v| v < 128).count() as u64)
            .sum();
        let all: u64 = p.pixels.iter().filter(|&&v| v < 128).count() as u64;
        assert!(inked <= all);
        assert!(text_probes(&p, 50, 100).len() < 100, "the page runs out");
    }

    #[test]
    fn pages_with_little_text_or_none_give_no_probe() {
        // A card of three lines (about 250 characters): reading it twice when it is in
        // another language costs less than a probe on every such card.
        let card: Vec<_> = (0..3)
            .flat_map(|i| line(100 + i * 60, 100, 1100, 30, 70))
            .collect();
        assert!(text_probes(&page(1200, 400, 255, &card), 40, 1).is_empty());
        // Bands of a photograph: as tall as lines, but ink across them without the blanks
        // between letters.
        let bands: Vec<_> = (0..30).map(|i| (100, 100 + i * 60, 1000, 30)).collect();
        let mut photo = page(1200, 2000, 255, &[]);
        for &(x, y, bw, bh) in &bands {
            for yy in y..y + bh {
                for xx in x..x + bw {
                    if (xx + yy) % 3 == 0 {
                        photo.pixels[(yy * 1200 + xx) as usize] = 30;
                    }
                }
            }
        }
        assert!(text_probes(&photo, 40, 1).is_empty(), "photo bands");
        assert!(
            text_probes(&page(300, 300, 255, &[]), 60, 1).is_empty(),
            "blank"
        );
        let dark = GreyPixels {
            width: 300,
            height: 300,
            pixels: (0..90_000)
                .map(|i| if i % 5 == 0 { 250 } else { 10 })
                .collect(),
        };
        assert!(text_probes(&dark, 60, 1).is_empty(), "mostly ink");
        // Text too small to read (4-pixel lines).
        let tiny: Vec<_> = (0..20)
            .flat_map(|i| line(10 + i * 8, 5, 290, 4, 20))
            .collect();
        assert!(text_probes(&page(300, 200, 255, &tiny), 60, 1).is_empty());
        // Pixels that disagree with the size.
        let bad = GreyPixels {
            width: 10,
            height: 10,
            pixels: vec![0; 5],
        };
        assert!(text_probes(&bad, 60, 1).is_empty());
    }

    #[test]
    fn any_pixels_give_probes_or_none_without_panicking() {
        // A small generator (xorshift) of pages of noise, stripes and specks, of sizes
        // from one pixel up.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (w, h) in [(1, 1), (1, 500), (500, 1), (7, 9), (640, 480), (300, 2000)] {
            for kind in 0..4 {
                let pixels: Vec<u8> = (0..w * h)
                    .map(|i| match kind {
                        0 => next() as u8,
                        1 => [0, 255][(i / w / 9 % 2) as usize],
                        2 => [255, 0][(next() % 97 == 0) as usize],
                        _ => [250, 10][((i % w) / 5 % 2 * (i / w / 12 % 2)) as usize],
                    })
                    .collect();
                let page = GreyPixels {
                    width: w,
                    height: h,
                    pixels,
                };
                for probe in text_probes(&page, 40, 3) {
                    assert_eq!(
                        probe.pixels.len(),
                        probe.width as usize * probe.height as usize
                    );
                    assert!(probe.width <= w + h && probe.height <= 3 * h + 64);
                }
            }
        }
    }
}
