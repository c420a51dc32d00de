//! Reading order: a page's lines, from any source (a PDF's text layer, Tesseract, Textract),
//! put in the order a person reads them, from their boxes alone.
//!
//! - Text of each orientation is read in its own frame (turned upright); upright text comes
//!   first (or, with none, the orientation holding most characters), the others after it,
//!   left to right across the page (a block turned sideways, then a caption along the
//!   right margin).
//! - A page header (the top band, apart from the body) comes first and a footer last.
//! - Columns: bands of lines are gathered while a vertical gutter runs through all of them;
//!   where prose stands on both sides of it, one column is read whole before the next (left
//!   first, right first on a right-to-left page). Anything else (a form's labels and values,
//!   a table's cells) is read row by row, and the pieces of one row become one line.
//! - On a right-to-left page (Hebrew, Arabic: the caller says which, as the PDF reader
//!   knows the scripts), columns and the pieces of a row are read right to left.

use crate::ocr::{BoundingBox, Line};

/// A box in the frame of its text: x along the line, y down the page of that text.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl Rect {
    fn height(&self) -> f32 {
        self.y1 - self.y0
    }
}

/// `b` seen with text of clockwise `angle` turned upright.
fn frame(b: BoundingBox, angle: u16) -> Rect {
    let (l, t, r, bottom) = (b.left, b.top, b.left + b.width, b.top + b.height);
    match angle {
        // Text running down the page: the next line is to its left.
        90 => Rect {
            x0: t,
            x1: bottom,
            y0: -r,
            y1: -l,
        },
        180 => Rect {
            x0: -r,
            x1: -l,
            y0: -bottom,
            y1: -t,
        },
        // Text running up the page: the next line is to its right.
        270 => Rect {
            x0: -bottom,
            x1: -t,
            y0: l,
            y1: r,
        },
        _ => Rect {
            x0: l,
            x1: r,
            y0: t,
            y1: bottom,
        },
    }
}

/// The clockwise angle of a line's text, to the nearest quarter turn.
pub fn quarter(angle: u16) -> u16 {
    ((angle as u32 + 45) % 360 / 90 * 90) as u16
}

/// A page's lines in reading order (see the module's notes). Lines on one row of a part of
/// the page that is not in columns are joined into one.
pub fn reading_order(lines: Vec<Line>, rtl: bool) -> Vec<Line> {
    if lines.len() < 2 {
        return lines;
    }
    let mut angles: Vec<(u16, usize, f32)> = Vec::new();
    for l in &lines {
        let a = quarter(l.angle);
        let chars = l.text.chars().filter(|c| !c.is_whitespace()).count();
        match angles.iter_mut().find(|(x, _, _)| *x == a) {
            Some(e) => {
                e.1 += chars;
                e.2 = e.2.min(l.bbox.left);
            }
            None => angles.push((a, chars, l.bbox.left)),
        }
    }
    // Upright text first (the page is already turned the way it is read), or the
    // orientation holding most characters; then the others left to right.
    angles.sort_by(|a, b| (b.0 == 0).cmp(&(a.0 == 0)).then(b.1.cmp(&a.1)));
    if let Some((_, rest)) = angles.split_first_mut() {
        rest.sort_by(|a, b| a.2.total_cmp(&b.2));
    }
    let mut slots: Vec<Option<Line>> = lines.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(slots.len());
    for (angle, _, _) in angles {
        let idx: Vec<usize> = (0..slots.len())
            .filter(|&i| slots[i].as_ref().is_some_and(|l| quarter(l.angle) == angle))
            .collect();
        let rects: Vec<Rect> = idx
            .iter()
            .map(|&i| frame(slots[i].as_ref().map(|l| l.bbox).unwrap_or_default(), angle))
            .collect();
        let words: Vec<usize> = idx
            .iter()
            .map(|&i| slots[i].as_ref().map_or(0, |l| l.words.len().max(1)))
            .collect();
        let page = Page {
            rects: &rects,
            words: &words,
            rtl,
            height: median_height(&rects),
        };
        for row in page.order(angle == 0) {
            let taken: Vec<Line> = row.iter().filter_map(|&k| slots[idx[k]].take()).collect();
            if taken.len() == 1 {
                out.extend(taken);
            } else if !taken.is_empty() {
                out.push(join(taken, angle));
            }
        }
    }
    out
}

/// The lines of one row as one line: their texts joined (a line may carry text without
/// words), their words, boxes and confidences together.
fn join(lines: Vec<Line>, angle: u16) -> Line {
    let n = lines.len() as f32;
    let text = lines
        .iter()
        .map(|l| l.text.as_str())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let confidence = lines.iter().map(|l| l.confidence).sum::<f32>() / n;
    let bbox = BoundingBox::union(lines.iter().map(|l| l.bbox));
    let words = lines.into_iter().flat_map(|l| l.words).collect();
    Line {
        text,
        confidence,
        bbox,
        words,
        angle,
    }
}

fn median_height(rects: &[Rect]) -> f32 {
    let mut h: Vec<f32> = rects
        .iter()
        .map(Rect::height)
        .filter(|h| *h > 0.0)
        .collect();
    if h.is_empty() {
        return 0.01;
    }
    h.sort_by(f32::total_cmp);
    h[h.len() / 2]
}

struct Page<'a> {
    rects: &'a [Rect],
    words: &'a [usize],
    rtl: bool,
    height: f32,
}

/// Lines of one orientation, as indices into `Page::rects`.
type Rows = Vec<Vec<usize>>;

/// Above this many lines of one orientation (a page has hundreds at most), a page is read
/// row by row: looking for columns costs more than it can be worth.
pub const MAX_LINES_FOR_COLUMNS: usize = 5_000;

/// Columns within columns, at most this deep.
const MAX_DEPTH: u32 = 8;

impl Page<'_> {
    fn order(&self, upright: bool) -> Rows {
        let all: Vec<usize> = (0..self.rects.len()).collect();
        if all.len() > MAX_LINES_FOR_COLUMNS {
            return self.rows(all);
        }
        let mut bands = self.bands(all);
        let mut header = Vec::new();
        let mut footer = Vec::new();
        if upright && bands.len() >= 3 {
            let apart = 1.5 * self.height;
            let (first, second) = (&bands[0], &bands[1]);
            if self.bottom(first) <= 0.12 && self.top(second) - self.bottom(first) >= apart {
                header = bands.remove(0);
            }
            let n = bands.len();
            let (before, last) = (&bands[n - 2], &bands[n - 1]);
            if self.top(last) >= 0.88 && self.top(last) - self.bottom(before) >= apart {
                footer = bands.pop().unwrap_or_default();
            }
        }
        let mut rows = self.rows(header);
        rows.extend(self.region_of_bands(bands, 0));
        rows.extend(self.rows(footer));
        rows
    }

    fn top(&self, band: &[usize]) -> f32 {
        band.iter()
            .map(|&i| self.rects[i].y0)
            .fold(f32::MAX, f32::min)
    }

    fn bottom(&self, band: &[usize]) -> f32 {
        band.iter()
            .map(|&i| self.rects[i].y1)
            .fold(f32::MIN, f32::max)
    }

    /// Lines grouped into bands: runs of lines overlapping from top to bottom.
    fn bands(&self, mut idx: Vec<usize>) -> Vec<Vec<usize>> {
        idx.sort_by(|&a, &b| self.rects[a].y0.total_cmp(&self.rects[b].y0));
        let mut bands: Vec<Vec<usize>> = Vec::new();
        let mut bottom = f32::MIN;
        for i in idx {
            let r = self.rects[i];
            match bands.last_mut() {
                Some(band) if r.y0 < bottom => {
                    band.push(i);
                    bottom = bottom.max(r.y1);
                }
                _ => {
                    bands.push(vec![i]);
                    bottom = r.y1;
                }
            }
        }
        bands
    }

    fn region(&self, idx: Vec<usize>, depth: u32) -> Rows {
        let bands = self.bands(idx);
        self.region_of_bands(bands, depth)
    }

    /// Bands gathered while a gutter runs through all of them; each gathering read in
    /// columns when it is prose on both sides of the gutter, row by row otherwise.
    fn region_of_bands(&self, bands: Vec<Vec<usize>>, depth: u32) -> Rows {
        let all = bands.iter().flatten();
        let (lo, hi) = all.fold((f32::MAX, f32::MIN), |(lo, hi), &i| {
            (lo.min(self.rects[i].x0), hi.max(self.rects[i].x1))
        });
        let min_gutter = 1.2 * self.height;
        let mut rows = Rows::new();
        let mut group: Vec<Vec<usize>> = Vec::new();
        let mut free: Vec<(f32, f32)> = Vec::new();
        for band in bands {
            let own = self.free(&band, lo, hi, min_gutter);
            let shared = intersect(&free, &own, min_gutter);
            if group.is_empty() || shared.is_empty() {
                rows.extend(self.gathering(std::mem::take(&mut group), &free, depth));
                free = own;
            } else {
                free = shared;
            }
            group.push(band);
        }
        rows.extend(self.gathering(group, &free, depth));
        rows
    }

    /// Gaps at least `min` wide between the lines of a band, inside `lo..hi`.
    fn free(&self, band: &[usize], lo: f32, hi: f32, min: f32) -> Vec<(f32, f32)> {
        let mut spans: Vec<(f32, f32)> = band
            .iter()
            .map(|&i| (self.rects[i].x0, self.rects[i].x1))
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = Vec::new();
        let mut at = lo;
        for (x0, x1) in spans {
            if x0 - at >= min {
                out.push((at, x0));
            }
            at = at.max(x1);
        }
        if hi - at >= min {
            out.push((at, hi));
        }
        out
    }

    fn gathering(&self, group: Vec<Vec<usize>>, free: &[(f32, f32)], depth: u32) -> Rows {
        if group.is_empty() {
            return Rows::new();
        }
        let split = (depth < MAX_DEPTH)
            .then(|| self.columns(&group, free))
            .flatten();
        if let Some((left, right)) = split {
            let (first, second) = if self.rtl {
                (right, left)
            } else {
                (left, right)
            };
            let mut rows = self.region(first, depth + 1);
            rows.extend(self.region(second, depth + 1));
            return rows;
        }
        self.rows(group.into_iter().flatten().collect())
    }

    /// The gathering split at one of its widest gutters, when that divides prose from
    /// prose: on each side, one line under another (never two side by side: a table's
    /// cells), at least three lines of more than four words on average, most of them
    /// reaching across the side (a form's labels do not); the two sides side by side for at
    /// least two lines' height.
    fn columns(
        &self,
        group: &[Vec<usize>],
        free: &[(f32, f32)],
    ) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut gutters: Vec<(f32, f32)> = free.to_vec();
        gutters.sort_by(|a, b| (b.1 - b.0).total_cmp(&(a.1 - a.0)));
        for &(g0, _) in gutters.iter().take(3) {
            let (left, right): (Vec<usize>, Vec<usize>) = group
                .iter()
                .flatten()
                .partition(|&&i| self.rects[i].x1 <= g0 + 1e-6);
            if !(self.prose(&left) && self.prose(&right)) {
                continue;
            }
            let span = |s: &[usize]| {
                s.iter().fold((f32::MAX, f32::MIN), |(t, b), &i| {
                    (t.min(self.rects[i].y0), b.max(self.rects[i].y1))
                })
            };
            let ((lt, lb), (rt, rb)) = (span(&left), span(&right));
            if lb.min(rb) - lt.max(rt) >= 2.0 * self.height {
                return Some((left, right));
            }
        }
        None
    }

    /// Whether lines are a column of prose (see [`Page::columns`]).
    fn prose(&self, side: &[usize]) -> bool {
        if side.len() < 3 {
            return false;
        }
        let words = side.iter().map(|&i| self.words[i]).sum::<usize>() as f32;
        if words / side.len() as f32 <= 4.0 {
            return false;
        }
        let (lo, hi) = side.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &i| {
            (lo.min(self.rects[i].x0), hi.max(self.rects[i].x1))
        });
        let full = side
            .iter()
            .filter(|&&i| self.rects[i].x1 - self.rects[i].x0 >= 0.6 * (hi - lo))
            .count();
        if 2 * full < side.len() {
            return false;
        }
        let mut by_top = side.to_vec();
        by_top.sort_by(|&a, &b| self.rects[a].y0.total_cmp(&self.rects[b].y0));
        by_top.windows(2).all(|w| {
            let (a, b) = (self.rects[w[0]], self.rects[w[1]]);
            a.y1.min(b.y1) - b.y0 <= 0.5 * a.height().min(b.height())
        })
    }

    /// Lines read row by row: a line belongs to a row when most of its height lies within
    /// the row's; in a row, left to right (right to left on a right-to-left page).
    fn rows(&self, mut idx: Vec<usize>) -> Rows {
        let centre = |i: usize| (self.rects[i].y0 + self.rects[i].y1) / 2.0;
        idx.sort_by(|&a, &b| centre(a).total_cmp(&centre(b)));
        let mut rows: Vec<(f32, f32, Vec<usize>)> = Vec::new();
        for i in idx {
            let r = self.rects[i];
            let joins = rows.last().is_some_and(|(t, b, _)| {
                let overlap = b.min(r.y1) - t.max(r.y0);
                overlap > 0.5 * (b - t).min(r.height()).max(1e-6)
            });
            if joins && let Some((t, b, row)) = rows.last_mut() {
                *t = t.min(r.y0);
                *b = b.max(r.y1);
                row.push(i);
            } else {
                rows.push((r.y0, r.y1, vec![i]));
            }
        }
        rows.into_iter()
            .map(|(_, _, mut row)| {
                if self.rtl {
                    row.sort_by(|&a, &b| self.rects[b].x1.total_cmp(&self.rects[a].x1));
                } else {
                    row.sort_by(|&a, &b| self.rects[a].x0.total_cmp(&self.rects[b].x0));
                }
                row
            })
            .collect()
    }
}

/// The parts of two sets of gaps (each sorted, none overlapping) both hold, at least `min`
/// wide: one pass over both.
fn intersect(a: &[(f32, f32)], b: &[(f32, f32)], min: f32) -> Vec<(f32, f32)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x0, x1) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if x1 - x0 >= min {
            out.push((x0, x1));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::Word;

    /// A line of `text` at (left, top), words 0.012 wide per character, 0.012 high.
    fn line(text: &str, left: f32, top: f32) -> Line {
        let mut x = left;
        let words = text
            .split(' ')
            .map(|t| {
                let width = 0.012 * t.chars().count() as f32;
                let w = Word {
                    text: t.into(),
                    confidence: 90.0,
                    bbox: BoundingBox {
                        left: x,
                        top,
                        width,
                        height: 0.012,
                    },
                };
                x += width + 0.006;
                w
            })
            .collect();
        Line::from_words(words)
    }

    /// Two columns of six lines, `step` apart, the right one `offset` lower: as a text
    /// layer gives them, one line per baseline, the columns side by side.
    fn side_by_side(step: f32, offset: f32) -> Vec<Line> {
        (0..6)
            .flat_map(|k| {
                let top = 0.12 + step * k as f32;
                [
                    line(&format!("left column line number {k} of six"), 0.1, top),
                    line(
                        &format!("right column line number {k} of six"),
                        0.55,
                        top + offset,
                    ),
                ]
            })
            .collect()
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.text.clone()).collect()
    }

    #[test]
    fn two_columns_under_a_heading_are_read_one_after_the_other() {
        // As a text layer gives them: one line per baseline, the columns side by side.
        let mut lines = vec![line("Clinical course", 0.1, 0.08)];
        lines.extend(side_by_side(0.02, 0.0));
        lines.push(line("Page 1 of 2", 0.45, 0.95));
        lines.reverse();
        let read = texts(&reading_order(lines, false));
        let mut want = vec!["Clinical course".to_string()];
        want.extend((0..6).map(|k| format!("left column line number {k} of six")));
        want.extend((0..6).map(|k| format!("right column line number {k} of six")));
        want.push("Page 1 of 2".into());
        assert_eq!(read, want);
    }

    #[test]
    fn a_form_is_read_row_by_row_and_each_row_is_one_line() {
        let mut lines = Vec::new();
        for (k, (label, value)) in [
            ("Name:", "Ruth Imaginary"),
            ("Born:", "1961-03-14"),
            ("Ward:", "7B"),
        ]
        .iter()
        .enumerate()
        {
            let top = 0.2 + 0.03 * k as f32;
            lines.push(line(value, 0.5, top));
            lines.push(line(label, 0.1, top));
        }
        let read = texts(&reading_order(lines, false));
        assert_eq!(
            read,
            ["Name: Ruth Imaginary", "Born: 1961-03-14", "Ward: 7B"]
        );
    }

    #[test]
    fn a_header_comes_first_and_a_footer_last() {
        let mut lines = vec![line("Medi-Advice clinic letter", 0.1, 0.03)];
        for k in 0..4 {
            lines.push(line(
                &format!("body text line number {k}"),
                0.1,
                0.2 + 0.02 * k as f32,
            ));
        }
        lines.push(line("Confidential", 0.1, 0.96));
        lines.swap(0, 5);
        let read = texts(&reading_order(lines, false));
        assert_eq!(read[0], "Medi-Advice clinic letter");
        assert_eq!(read[5], "Confidential");
        assert_eq!(read[1], "body text line number 0");
    }

    #[test]
    fn right_to_left_columns_start_on_the_right() {
        let mut lines = Vec::new();
        for k in 0..4 {
            let top = 0.2 + 0.02 * k as f32;
            lines.push(line(&format!("שורה ימנית מספר {k} מתוך ארבע"), 0.55, top));
            lines.push(line(&format!("שורה שמאלית מספר {k} מתוך ארבע"), 0.1, top));
        }
        let read = texts(&reading_order(lines, true));
        assert!(read[..4].iter().all(|t| t.contains("ימנית")), "{read:?}");
        assert!(read[4..].iter().all(|t| t.contains("שמאלית")), "{read:?}");
    }

    #[test]
    fn text_turned_sideways_follows_the_upright_text_in_its_own_order() {
        let upright = line("Wound care chart and notes", 0.1, 0.1);
        // Two lines running up the page (270): the second is to the right of the first.
        let up = |text: &str, left: f32| {
            let mut l = line(text, 0.0, 0.0);
            l.bbox = BoundingBox {
                left,
                top: 0.4,
                width: 0.012,
                height: 0.3,
            };
            l.angle = 270;
            l
        };
        let mut down = line("caption along the margin", 0.0, 0.0);
        down.bbox = BoundingBox {
            left: 0.95,
            top: 0.1,
            width: 0.01,
            height: 0.3,
        };
        down.angle = 90;
        let lines = vec![
            down,
            up("second turned line", 0.22),
            upright,
            up("first turned line", 0.2),
        ];
        let read = texts(&reading_order(lines, false));
        assert_eq!(
            read,
            [
                "Wound care chart and notes",
                "first turned line",
                "second turned line",
                "caption along the margin"
            ]
        );
    }

    #[test]
    fn any_boxes_keep_every_word_once() {
        // Boxes from a generator with no layout in mind: overlapping, empty, outside the
        // page, every orientation.
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed % 10_000) as f32 / 5_000.0 - 0.5
        };
        for round in 0..40 {
            let n = 1 + round * 25;
            let lines: Vec<Line> = (0..n)
                .map(|i| {
                    let mut l = line(&format!("w{i} x{i}"), next(), next());
                    l.bbox.width = next().abs();
                    l.bbox.height = next().abs() * (round % 3) as f32;
                    l.angle = [0, 90, 180, 270, 359, 44][i % 6];
                    l
                })
                .collect();
            let before = lines.iter().map(|l| l.words.len()).sum::<usize>();
            let out = reading_order(lines, round % 2 == 0);
            assert_eq!(out.iter().map(|l| l.words.len()).sum::<usize>(), before);
        }
    }

    #[test]
    fn a_table_is_read_row_by_row_even_with_long_cells() {
        let rows = [
            (
                "Amoxicillin 500 mg capsules",
                "one three times a day",
                "5 days",
            ),
            (
                "Paracetamol 1 g tablets",
                "two four times a day",
                "as needed",
            ),
            (
                "Omeprazole 20 mg capsules",
                "one each morning before food",
                "28 days",
            ),
            (
                "Salbutamol 100 micrograms inhaler",
                "two puffs when breathless",
                "ongoing",
            ),
        ];
        let mut lines = Vec::new();
        for (k, (a, b, c)) in rows.iter().enumerate() {
            let top = 0.3 + 0.025 * k as f32;
            lines.push(line(c, 0.8, top));
            lines.push(line(b, 0.45, top));
            lines.push(line(a, 0.05, top));
        }
        let read = texts(&reading_order(lines, false));
        let want: Vec<String> = rows
            .iter()
            .map(|(a, b, c)| format!("{a} {b} {c}"))
            .collect();
        assert_eq!(read, want);
    }

    #[test]
    fn columns_whose_lines_do_not_line_up_are_still_read_one_after_the_other() {
        // The right column half a line lower, its boxes overlapping the left's: one band.
        let lines = side_by_side(0.014, 0.007);
        let read = texts(&reading_order(lines, false));
        assert!(read[..6].iter().all(|t| t.starts_with("left")), "{read:?}");
        assert!(read[6..].iter().all(|t| t.starts_with("right")), "{read:?}");
    }

    #[test]
    fn lines_joined_on_a_row_keep_text_that_has_no_words() {
        let mut a = line("Name:", 0.1, 0.2);
        a.words.clear();
        let mut b = line("Ruth Imaginary", 0.5, 0.2);
        b.words.clear();
        let read = reading_order(vec![b, a], false);
        assert_eq!(texts(&read), ["Name: Ruth Imaginary"]);
    }
}
