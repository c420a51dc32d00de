//! Right-to-left scripts (Hebrew, Arabic, ...) from the order a PDF draws them (left to
//! right) to the order they are written: [`visual_to_logical`].

/// A strong right-to-left character: Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan,
/// Mandaic and their presentation forms.
pub fn is_rtl_char(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFC | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

fn is_ltr_char(c: char) -> bool {
    c.is_alphabetic() && !is_rtl_char(c)
}

/// Whether text is mostly right-to-left: more strong right-to-left characters than strong
/// left-to-right ones.
pub fn is_right_to_left<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut rtl, mut ltr) = (0usize, 0usize);
    for c in texts.into_iter().flat_map(str::chars) {
        if is_rtl_char(c) {
            rtl += 1;
        } else if is_ltr_char(c) {
            ltr += 1;
        }
    }
    rtl > ltr
}

fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        _ => c,
    }
}

/// One word's characters, drawn left to right, in logical order: the word reversed, its
/// runs of left-to-right letters and digits (a dose, a Latin abbreviation) put back the
/// way they are drawn, brackets mirrored. A word without right-to-left characters is
/// returned as it is.
fn word_logical(visual: &str) -> String {
    if !visual.chars().any(is_rtl_char) {
        return visual.to_string();
    }
    let mut chars: Vec<char> = visual.chars().rev().collect();
    let strong_ltr = |c: char| is_ltr_char(c) || c.is_numeric();
    let mut i = 0;
    while i < chars.len() {
        if strong_ltr(chars[i]) {
            let mut end = i + 1;
            let mut j = i + 1;
            while j < chars.len() && !is_rtl_char(chars[j]) {
                if strong_ltr(chars[j]) {
                    end = j + 1;
                }
                j += 1;
            }
            chars[i..end].reverse();
            i = end;
        } else {
            chars[i] = mirror(chars[i]);
            i += 1;
        }
    }
    chars.into_iter().collect()
}

/// A line's words, drawn left to right, in logical order (the order they are written):
/// on a right-to-left line (`rtl_line`) the words are read right to left, except runs of
/// left-to-right words (a drug name, "ECG normal"), kept as drawn; on a left-to-right line,
/// runs of right-to-left words are reversed. Each word's letters are put in logical order
/// too. Returns the permutation (indices into `visual`) and each word's logical text.
pub fn visual_to_logical(visual: &[&str], rtl_line: bool) -> (Vec<usize>, Vec<String>) {
    let texts: Vec<String> = visual.iter().map(|w| word_logical(w)).collect();
    let has_rtl = |k: usize| visual[k].chars().any(is_rtl_char);
    let latin = |k: usize| !has_rtl(k) && visual[k].chars().any(is_ltr_char);
    let numeric = |k: usize| !has_rtl(k) && !latin(k) && visual[k].chars().any(char::is_numeric);
    let mut order: Vec<usize> = (0..visual.len()).collect();
    if rtl_line {
        order.reverse();
    }
    // Runs of words against the line's direction are read as drawn: reverse them back. On a
    // right-to-left line such a run holds a Latin word (numbers alone, "12 - 16", follow
    // the line's direction); a number drawn just right of a Latin word belongs to its run
    // ("Ceftriaxone 2"), unless the word is a unit, which follows its number ("50 mg").
    // On a left-to-right line the runs are of right-to-left words.
    let against = |k: usize| if rtl_line { latin(k) } else { has_rtl(k) };
    let joins = |k: usize| if rtl_line { !has_rtl(k) } else { !latin(k) };
    let mut i = 0;
    let mut done = 0;
    while i < order.len() {
        if !against(order[i]) {
            i += 1;
            continue;
        }
        let mut start = i;
        if rtl_line && !is_unit(visual[order[i]]) {
            while start > done && numeric(order[start - 1]) {
                start -= 1;
            }
        }
        let mut end = i + 1;
        let mut j = i + 1;
        while j < order.len() && joins(order[j]) {
            if against(order[j]) {
                end = j + 1;
            }
            j += 1;
        }
        order[start..end].reverse();
        i = end;
        done = end;
    }
    (order, texts)
}

/// A unit of measure, written after its number.
fn is_unit(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !(c.is_alphanumeric() || c == '%' || c == '°'))
        .to_lowercase();
    const UNITS: &[&str] = &[
        "mg", "g", "kg", "mcg", "µg", "ug", "ng", "ml", "l", "dl", "mmol", "mmol/l", "µmol/l",
        "umol/l", "mg/dl", "g/dl", "g/l", "mg/l", "mmhg", "cm", "mm", "m", "%", "iu", "units",
        "bpm", "°c", "c", "mg/kg", "ml/h", "ml/min", "l/min", "kg/m2", "h", "min", "s",
    ];
    UNITS.contains(&w.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_to_left_words_drawn_left_to_right_come_out_in_logical_order() {
        // "Dose 50 mg (ECG normal)" written in Hebrew with a Latin run, as a PDF draws it.
        let logical = ["מינון", "50", "מ\"ג", "(ECG", "normal)"];
        let visual = ["(ECG", "normal)", "ג\"מ", "50", "ןונימ"];
        let (order, texts) = visual_to_logical(&visual, true);
        let read: Vec<&str> = order.iter().map(|&i| texts[i].as_str()).collect();
        assert_eq!(read, logical);
        // Letters and digits in one word: "ב-12" (on the 12th) drawn as "12-ב".
        let (_, texts) = visual_to_logical(&["12-ב"], true);
        assert_eq!(texts, ["ב-12"]);
        // Numbers alone follow the line: a range, a blood pressure in separate words.
        for (visual, want) in [
            (
                &["16", "-", "12", "חווט"][..],
                &["טווח", "12", "-", "16"][..],
            ),
            (&["80", "/", "120", "ץחל"], &["לחץ", "120", "/", "80"]),
            // A unit follows its number; a drug name is followed by its dose.
            (&["mg", "50", "ןונימ"], &["מינון", "50", "mg"]),
            (
                &["םרג", "Ceftriaxone", "2", ":לופיט"],
                &["טיפול:", "Ceftriaxone", "2", "גרם"],
            ),
            (
                &["Ceftriaxone", "2", "mg", "לבקי"],
                &["יקבל", "Ceftriaxone", "2", "mg"],
            ),
        ] {
            let (order, texts) = visual_to_logical(visual, true);
            let read: Vec<&str> = order.iter().map(|&i| texts[i].as_str()).collect();
            assert_eq!(read, want, "{visual:?}");
        }
        // A left-to-right line keeps its order; a Hebrew word in it is turned.
        let (order, texts) = visual_to_logical(&["Patient", "םולש", "seen"], false);
        let read: Vec<&str> = order.iter().map(|&i| texts[i].as_str()).collect();
        assert_eq!(read, ["Patient", "שלום", "seen"]);
    }
}
