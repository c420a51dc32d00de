//! Dates in a document's text, each with its role and the convention it was read in.
//!
//! Forms read: `14/03/2026`, `14.03.26`, `14-03-2026` (numeric, day or month first),
//! `2026-03-14` (ISO), `14 March 2026`, `14th Mar 2026`, `14-Mar-2026`, `March 14, 2026`,
//! `Mar 14 2026`. A numeric date whose order is not plain from itself (both fields 12 or
//! less) is read in the document's convention: the one its other numeric dates show
//! (one with a first field over 12 is day-first, a second over 12 month-first), else the
//! one its addresses show (an Irish or UK address: day-first; a US address or ZIP code:
//! month-first), else the patient's region's (Ireland and the UK day-first, the US
//! month-first); a Canadian patient's with no cue is `ambiguous` (read day-first).
//!
//! The role comes from the words before the date on its line (or, for a date alone on
//! its line, the line above): `birth` (DOB, date of birth, born), `service` (collected,
//! date of visit, admitted, discharged, date of procedure, reported, ...), `due` (review
//! on, next dose, expires, ...), `issued` (Date:, dated, printed, and a date alone near
//! the top of a letter), `other`.

use serde::{Deserialize, Serialize};

/// The patient's region, which decides numeric dates nothing else decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Ie,
    Uk,
    Us,
    Ca,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Ie => "ie",
            Region::Uk => "uk",
            Region::Us => "us",
            Region::Ca => "ca",
        }
    }

    /// How it reads numeric dates, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Region::Ie => "Ireland: day first (03/04/2026 is 3 April)",
            Region::Uk => "United Kingdom: day first (03/04/2026 is 3 April)",
            Region::Us => "United States: month first (03/04/2026 is March 4)",
            Region::Ca => "Canada: from each document's cues, else flagged ambiguous",
        }
    }

    pub fn parse(s: &str) -> Option<Region> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ie" => Region::Ie,
            "uk" | "gb" => Region::Uk,
            "us" => Region::Us,
            "ca" => Region::Ca,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateRole {
    Service,
    Birth,
    Issued,
    Due,
    Other,
}

impl DateRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DateRole::Service => "service",
            DateRole::Birth => "birth",
            DateRole::Issued => "issued",
            DateRole::Due => "due",
            DateRole::Other => "other",
        }
    }
}

/// A date found in the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundDate {
    pub role: DateRole,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The text it was read from, as written.
    pub text: String,
    /// Read in a convention nothing on the document or about the patient decided.
    pub ambiguous: bool,
    /// Read day-first or month-first by the patient's region, the document not saying:
    /// it may read otherwise if their region changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_region: bool,
    /// Where: the line (0-based, in reading order) and the words (0-based, in that line).
    pub line: usize,
    pub words: std::ops::Range<usize>,
    /// For a service date, how directly it dates the service: 2 the event itself
    /// (collected, seen, performed, discharged), 1 the sample's arrival (received), 0 the
    /// report (reported, authorised).
    #[serde(skip)]
    pub rank: u8,
    /// Read as the issue date for lack of a label (a date alone near the top).
    #[serde(skip)]
    pub guessed: bool,
    /// The label that gave its role, if one did.
    #[serde(skip)]
    pub label: Option<&'static str>,
    /// Written with its weekday ("Tuesday 17 March 2026"), as appointments are.
    #[serde(skip)]
    pub weekday: bool,
}

/// How numeric dates are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    DayFirst,
    MonthFirst,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Months' names in French (Quebec, and letters from France), in Irish and in Spanish,
/// with their usual abbreviations.
const OTHER_MONTHS: &[(&str, u32)] = &[
    ("janvier", 1),
    ("janv", 1),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("mars", 3),
    ("avril", 4),
    ("avr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("juil", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("eanáir", 1),
    ("feabhra", 2),
    ("márta", 3),
    ("aibreán", 4),
    ("bealtaine", 5),
    ("meitheamh", 6),
    ("iúil", 7),
    ("lúnasa", 8),
    ("samhain", 11),
    ("nollaig", 12),
    // Spanish ("15 de febrero de 2026").
    ("enero", 1),
    ("ene", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("abr", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("dic", 12),
];

/// Months named in two words (Irish): Meán Fómhair, Deireadh Fómhair; and "Mí na
/// Samhna", "Mí na Nollag" after their "Mí".
const TWO_WORD_MONTHS: &[(&str, &str, u32)] = &[
    ("meán", "fómhair", 9),
    ("mean", "fomhair", 9),
    ("deireadh", "fómhair", 10),
    ("deireadh", "fomhair", 10),
    ("na", "samhna", 11),
    ("na", "nollag", 12),
];

fn two_word_month(a: &str, b: &str) -> Option<u32> {
    let (a, b) = (
        a.to_lowercase(),
        b.trim_end_matches([',', '.']).to_lowercase(),
    );
    TWO_WORD_MONTHS
        .iter()
        .find(|(x, y, _)| *x == a && *y == b)
        .map(|(_, _, m)| *m)
}

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    if w.chars().count() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (m.starts_with(&w) && (w.len() == 3 || w == "sept")))
        .map(|i| i as u32 + 1)
        .or_else(|| {
            OTHER_MONTHS
                .iter()
                .find(|(name, _)| *name == w)
                .map(|(_, m)| *m)
        })
}

fn days_in(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn year_of(s: &str) -> Option<i32> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s.parse().ok()?;
    match s.len() {
        4 if (1900..=2100).contains(&y) => Some(y),
        // Two digits: 00–39 this century, 40–99 the last.
        2 => Some(if y < 40 { 2000 + y } else { 1900 + y }),
        _ => None,
    }
}

/// A year as OCR may read it in a date written in words: "2O26", "l979".
fn ocr_year(s: &str) -> Option<i32> {
    let s = s.trim_end_matches([',', '.']);
    if s.len() != 4 || s.chars().filter(char::is_ascii_digit).count() < 2 {
        return year_of(s);
    }
    year_of(&as_digits(s))
}

/// A letter OCR reads for a digit given back as the digit: O for 0, l or I for 1.
fn as_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'O' | 'o' => '0',
            'l' | 'I' => '1',
            'S' => '5',
            'B' => '8',
            c => c,
        })
        .collect()
}

fn valid(y: i32, m: u32, d: u32) -> Option<(i32, u32, u32)> {
    ((1..=12).contains(&m) && d >= 1 && d <= days_in(y, m)).then_some((y, m, d))
}

/// A candidate before its order is settled.
#[derive(Debug, Clone)]
struct Candidate {
    line: usize,
    words: std::ops::Range<usize>,
    text: String,
    kind: Kind,
    /// What is written onto the date's own word before it: a label ("Date:O9/O9/2015"),
    /// or the dash of a range in one word ("01/21/2025-01/23/2025").
    glued: Option<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Plain from itself.
    Fixed(i32, u32, u32),
    /// Two numbers and a year: (first, second, year).
    Numeric(u32, u32, i32),
    /// A month and a day without a year ("on the 4th of March", "Tuesday 24/2"): the
    /// year is the one that puts it nearest the document's own date.
    NoYear(u32, u32),
    /// Two numbers without a year, either of which may be the month ("on 3/9").
    NoYearNumeric(u32, u32),
}

/// Numeric day, month and year from `14/03/2026`-like words (separators `/`, `.`, `-`).
fn numeric(word: &str) -> Option<Kind> {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    // "2026-02-03T14:22:05Z": an ISO date and its time.
    let w = match w.split_once('T') {
        Some((date, time))
            if date.len() == 10 && time.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            date
        }
        _ => w,
    };
    let sep = w.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = w.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    if parts[0].len() == 4 {
        let y = year_of(parts[0])?;
        let (m, d) = (parts[1].parse().ok()?, parts[2].parse().ok()?);
        return valid(y, m, d).map(|(y, m, d)| Kind::Fixed(y, m, d));
    }
    if parts[0].len() > 2 || parts[1].len() > 2 {
        return None;
    }
    let y = year_of(parts[2])?;
    let (a, b): (u32, u32) = (parts[0].parse().ok()?, parts[1].parse().ok()?);
    let day_first = valid(y, b, a).is_some();
    let month_first = valid(y, a, b).is_some();
    match (day_first, month_first) {
        (false, false) => None,
        (true, false) => Some(Kind::Fixed(y, b, a)),
        (false, true) => Some(Kind::Fixed(y, a, b)),
        (true, true) if a == b => Some(Kind::Fixed(y, a, b)),
        (true, true) => Some(Kind::Numeric(a, b, y)),
    }
}

fn day_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches([',', '.']);
    let digits = w
        .strip_suffix("er")
        .or_else(|| w.strip_suffix("st"))
        .or_else(|| w.strip_suffix("nd"))
        .or_else(|| w.strip_suffix("rd"))
        .or_else(|| w.strip_suffix("th"))
        // Irish: 3ú Márta.
        .or_else(|| w.strip_suffix('ú'))
        .unwrap_or(w);
    // "O6-Mar-2026", "l5 Jan": a letter for a digit beside a digit.
    let digits: String = if digits.len() == 2 && digits.chars().any(|c| c.is_ascii_digit()) {
        as_digits(digits)
    } else {
        digits.to_string()
    };
    (digits.len() <= 2 && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Dates written with a month's name starting at word `i`: (day, month, year, words used).
fn named(words: &[&str], i: usize) -> Option<(i32, u32, u32, usize)> {
    let w = |k: usize| {
        words
            .get(i + k)
            .map(|s| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
    };
    // 14-Mar-2026, 14 Mar 2026 in one word joined by dashes.
    let first = w(0)?;
    let dashed: Vec<&str> = first.split('-').collect();
    if dashed.len() == 3
        && let (Some(d), Some(m), Some(y)) =
            (day_of(dashed[0]), month_of(dashed[1]), ocr_year(dashed[2]))
    {
        return valid(y, m, d).map(|(y, m, d)| (y, m, d, 1));
    }
    // 2025-Nov-16.
    if dashed.len() == 3
        && dashed[0].len() == 4
        && let (Some(y), Some(m), Some(d)) =
            (year_of(dashed[0]), month_of(dashed[1]), day_of(dashed[2]))
    {
        return valid(y, m, d).map(|(y, m, d)| (y, m, d, 1));
    }
    // "9 January, 23 January and 6 February 2026": two digits after a month and its
    // comma, or before another month, are the next date's day, no year.
    // (Not "Aug 05 '21   Oct 07 '21": an apostrophe marks a year.)
    let bare_two = |k: usize| {
        words.get(i + k).is_some_and(|y| {
            let y = y.trim_end_matches([',', '.']);
            y.len() <= 2 && y.bytes().all(|b| b.is_ascii_digit())
        })
    };
    let short_year = |k: usize| {
        bare_two(k)
            && (words.get(i + k - 1).is_some_and(|m| m.ends_with(','))
                || w(k + 1).and_then(month_of).is_some())
    };
    // 14 March 2026, 14th of March 2026, 14 de marzo de 2026.
    if let Some(d) = day_of(first) {
        let of = |x: &str| x.eq_ignore_ascii_case("of") || x.eq_ignore_ascii_case("de");
        let (mi, skip) = if w(1).is_some_and(of) { (2, 1) } else { (1, 0) };
        if let (Some(m), Some(y)) = (w(mi).and_then(month_of), w(mi + 1).and_then(ocr_year))
            && !short_year(mi + 1)
        {
            return valid(y, m, d).map(|(y, m, d)| (y, m, d, 3 + skip));
        }
        if skip == 1
            && w(mi + 1).is_some_and(of)
            && let (Some(m), Some(y)) = (w(mi).and_then(month_of), w(mi + 2).and_then(ocr_year))
        {
            return valid(y, m, d).map(|(y, m, d)| (y, m, d, 5));
        }
        // 3ú Deireadh Fómhair 2025.
        if let (Some(a), Some(b), Some(y)) = (w(mi), w(mi + 1), w(mi + 2).and_then(ocr_year))
            && let Some(m) = two_word_month(a, b)
        {
            return valid(y, m, d).map(|(y, m, d)| (y, m, d, 4 + skip));
        }
    }
    // Feb 03/26, Feb 03/2026: a month's name, then the day and the year.
    if let Some(m) = month_of(first)
        && let Some((d, y)) = w(1).and_then(|x| x.split_once('/'))
        && let (Some(d), Some(y)) = (day_of(d), ocr_year(y))
    {
        return valid(y, m, d).map(|(y, m, d)| (y, m, d, 2));
    }
    // 2023 Jun 14: a Canadian laboratory's year first.
    if first.len() == 4
        && let Some(y) = year_of(first)
        && let (Some(m), Some(d)) = (w(1).and_then(month_of), w(2).and_then(day_of))
    {
        return valid(y, m, d).map(|(y, m, d)| (y, m, d, 3));
    }
    // March 14, 2026; Mar 14 2026.
    if let Some(m) = month_of(first)
        && let (Some(d), Some(y)) = (w(1).and_then(day_of), w(2).and_then(ocr_year))
        && !(bare_two(2) && w(3).and_then(month_of).is_some())
    {
        return valid(y, m, d).map(|(y, m, d)| (y, m, d, 3));
    }
    None
}

/// A day and a month's name without a year, starting at word `i`: "4th of March", "26
/// February", "Feb 23", "February 14th", "3ú Márta" (month, day, words used). "may"
/// before a number in lower case is the verb.
fn named_no_year(words: &[&str], i: usize) -> Option<(u32, u32, usize)> {
    let w = |k: usize| {
        words
            .get(i + k)
            .map(|s| s.trim_matches(|c: char| !c.is_alphanumeric()))
    };
    let first = w(0)?;
    // The word after the date must not carry on a number ("March 14 x 2", "14 Mar 9am"
    // is fine: a time).
    let ends_well = |k: usize| {
        words.get(i + k).is_none_or(|next| {
            let n = next.trim_matches(|c: char| !c.is_alphanumeric());
            !n.bytes().all(|b| b.is_ascii_digit()) || n.is_empty()
        })
    };
    if let Some(d) = day_of(first) {
        let (mi, skip) = if w(1).is_some_and(|x| x.eq_ignore_ascii_case("of")) {
            (2, 1)
        } else {
            (1, 0)
        };
        // ("9 January, 23 January and 6 February 2026": a list's next day after the
        // comma.)
        let listed = words.get(i + mi).is_some_and(|m| m.ends_with(','));
        if let Some(m) = w(mi).and_then(month_of)
            && (ends_well(mi + 1) || listed)
        {
            return valid(2000, m, d).map(|(_, m, d)| (m, d, 2 + skip));
        }
        if let (Some(a), Some(b)) = (w(mi), w(mi + 1))
            && let Some(m) = two_word_month(a, b)
            && ends_well(mi + 2)
        {
            return valid(2000, m, d).map(|(_, m, d)| (m, d, 3 + skip));
        }
    }
    if let Some(m) = month_of(first)
        && first != "may"
        && !words[i].ends_with(',')
        && let Some(d) = w(1).and_then(day_of)
        && ends_well(2)
        // "March 14" but not "Mar 1-3" or "June 2.5".
        && words[i + 1]
            .trim_end_matches([',', '.'])
            .chars()
            .all(char::is_alphanumeric)
    {
        return valid(2000, m, d).map(|(_, m, d)| (m, d, 2));
    }
    None
}

/// A date broken at the end of its line, the rest on the next: "3 Deireadh" / "Fómhair
/// 2025", "in the clinic on March" / "4, 2026 for", "seen on 4 March" / "2026." (year,
/// month, day, its words on this line and on the next).
fn named_over_lines(
    words: &[&str],
    i: usize,
    next: Option<&Vec<&str>>,
) -> Option<(i32, u32, u32, usize, usize)> {
    let next = next?;
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    // "may" in lower case is the verb.
    let month = |w: &str| (w != "may").then(|| month_of(&bare(w))).flatten();
    let on_next = |k: usize| next.get(k).map(|w| bare(w));
    match words.len() - i {
        2 => {
            let d = day_of(&bare(words[i]))?;
            let two_words = || {
                let m = two_word_month(words[i + 1], next.first()?)?;
                let y = ocr_year(&on_next(1)?)?;
                valid(y, m, d).map(|(y, m, d)| (y, m, d, 2, 2))
            };
            two_words().or_else(|| {
                let m = month(words[i + 1])?;
                let y = ocr_year(&on_next(0)?)?;
                valid(y, m, d).map(|(y, m, d)| (y, m, d, 2, 1))
            })
        }
        1 => {
            let m = month(words[i])?;
            let d = day_of(&on_next(0)?)?;
            let y = ocr_year(&on_next(1)?)?;
            valid(y, m, d).map(|(y, m, d)| (y, m, d, 1, 2))
        }
        _ => None,
    }
}

/// Words after which "3/9" is a date ("on 3/9", "Tuesday 24/2", "drawn 2/23").
const NO_YEAR_CUES: &[&str] = &[
    "on", "since", "from", "drawn", "until", "till", "dated", "le", "du", "taken", "done", "seen",
];

/// Two numbers without a year written as a date ("on 3/9", "Tuesday 24/2"), only after a
/// weekday or a word that leads to a date, never before a unit or "of".
/// Words after a date on a statement's row that say money moved, not a visit.
const PAYMENTS: &[&str] = &[
    "payment",
    "payments",
    "paid",
    "adjustment",
    "contractual",
    "refund",
    "credit",
    "write-off",
    "transfer",
];

/// Whether a line is a fax machine's header: it names the fax or its sender ("FROM:",
/// "DE/FROM:", "Fax") and counts its pages ("P 01/04", "Page 2/5", "P.1").
fn fax_header(words: &[&str]) -> bool {
    // A fax's header is short: its first words say enough.
    let lower: Vec<String> = words.iter().take(40).map(|w| w.to_lowercase()).collect();
    let sender = lower.iter().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != ':');
        w.starts_with("fax") || w == "from:" || w == "de/from:" || w.ends_with("/from:")
    });
    // "01/04": this page of all.
    let counter = |s: &str| {
        s.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.len() <= 3
                && b.len() <= 3
                && (a.chars().chain(b.chars())).all(|c| c.is_ascii_digit())
        })
    };
    let pages = lower.iter().enumerate().any(|(k, w)| {
        (matches!(w.as_str(), "p" | "p." | "page" | "pg" | "pg.")
            && lower
                .get(k + 1)
                .is_some_and(|n| counter(n) || n.parse::<u32>().is_ok()))
            || w.strip_prefix("p.")
                .is_some_and(|n| counter(n) || (n.len() <= 3 && n.parse::<u32>().is_ok()))
            // ("P1/1")
            || w.strip_prefix('p').is_some_and(counter)
    });
    // The sending machine's number ("01/06/2026 13:22   (919)555-0164   BRIGHTLEAF FAMILY
    // MED   P.3/4", "FEB 17 2026 10:31   FROM: 4035550119   ...   P.01").
    let phone_part = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '(' | ')' | '-' | '+' | '.'))
    };
    let digits = |w: &str| w.chars().filter(char::is_ascii_digit).count();
    let number = lower
        .iter()
        .any(|w| (10..=15).contains(&digits(w)) && phone_part(w))
        // ("061 555 901 -> 065 555 1234": a number in groups.)
        || lower.windows(3).any(|g| {
            g.iter().all(|w| phone_part(w) && (2..=4).contains(&digits(w)))
                && (9..=15).contains(&g.iter().map(|w| digits(w)).sum::<usize>())
        });
    (sender || number) && pages
}

/// Words before a score out of ten ("pain 7/10", "NPRS from 7/10").
const SCORES: &[&str] = &[
    "pain", "score", "nprs", "vas", "rated", "severity", "rating",
];

fn numeric_no_year(words: &[&str], i: usize) -> Option<Kind> {
    let prev = i.checked_sub(1).map(|k| {
        words[k]
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    })?;
    if !(is_weekday(&prev) || NO_YEAR_CUES.contains(&prev.as_str())) {
        return None;
    }
    let next = words.get(i + 1).map(|w| {
        w.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    });
    if next.as_deref().is_some_and(|n| {
        matches!(
            n,
            "of" | "units"
                | "unit"
                | "iu"
                | "mg"
                | "mcg"
                | "ml"
                | "tab"
                | "tabs"
                | "tablet"
                | "tablets"
                | "dose"
                | "doses"
                | "days"
                | "weeks"
                | "strength"
        )
    }) {
        return None;
    }
    let w = words[i].trim_end_matches([',', '.', ';', ')', ':']);
    let w = w.trim_start_matches('(');
    let (a, b) = w.split_once('/')?;
    let small = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|c| c.is_ascii_digit());
    if !small(a) || !small(b) {
        return None;
    }
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    // "pain has reduced from 7/10 to 4/10": a score out of ten.
    if b == 10 {
        let to_another = words
            .get(i + 2)
            .is_some_and(|w| w.trim_end_matches([',', '.', ';', ')']).ends_with("/10"));
        let scored = words[i.saturating_sub(6)..i].iter().any(|w| {
            let w = w.to_lowercase();
            SCORES.iter().any(|s| w.contains(s))
        });
        if to_another || scored {
            return None;
        }
    }
    match (valid(2000, b, a).is_some(), valid(2000, a, b).is_some()) {
        (true, true) if a != b => Some(Kind::NoYearNumeric(a, b)),
        (true, _) => Some(Kind::NoYear(b, a)),
        (false, true) => Some(Kind::NoYear(a, b)),
        (false, false) => None,
    }
}

/// Whether the numeric date-like word `i` is something else: a time or a second date
/// straight after a date ("03/04/2026 13.05.10"), a version ("version 13.2.24"), a dose
/// schedule ("10-10-12 units").
fn not_a_date(words: &[&str], i: usize) -> bool {
    let prev = i.checked_sub(1).map(|k| words[k].to_lowercase());
    let next = words.get(i + 1).map(|w| w.to_lowercase());
    let time = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        w.split_once(':').is_some_and(|(h, m)| {
            !h.is_empty() && h.len() <= 2 && h.bytes().all(|b| b.is_ascii_digit()) && m.len() >= 2
        })
    };
    // A time with seconds written with dots, after a date or a time.
    let dotted_time = {
        let w = words[i].trim_matches(|c: char| !c.is_ascii_alphanumeric());
        w.contains('.') && w.rsplit('.').next().is_some_and(|y| y.len() == 2)
    };
    prev.as_deref().is_some_and(|p| {
        (dotted_time && (numeric(p).is_some() || time(p)))
            || matches!(p, "version" | "ver" | "v" | "software" | "release")
    }) || next.as_deref().is_some_and(|n| {
        matches!(
            n.trim_end_matches([',', '.']),
            "units" | "unit" | "iu" | "mg" | "mcg" | "ml"
        )
        // (Not the last of a cumulative report's dates before its "Units" column:
        // "14/06/26    15/06/26    Units        Ref".)
        && !(words[i + 1].starts_with(char::is_uppercase)
            && prev.as_deref().is_some_and(|p| numeric(p).is_some()))
    })
}

/// A numeric date OCR spread over words around its separators ("O9 / 04 / 1944", "23 /
/// 1O / 2017"): (kind, words used, the date's text).
fn spaced(words: &[&str], i: usize) -> Option<(Kind, usize, String)> {
    if !words[i].starts_with(|c: char| c.is_ascii_digit() || matches!(c, 'O' | 'l' | 'I')) {
        return None;
    }
    let is_sep = |c: char| matches!(c, '/' | '.' | '-');
    let mut joined = String::new();
    for (k, w) in words[i..].iter().take(5).enumerate() {
        let piece = w.trim_end_matches([',', ';', ')']);
        // Every break between the words is beside a separator.
        if k > 0 && !joined.ends_with(is_sep) && !piece.starts_with(is_sep) {
            return None;
        }
        joined.push_str(piece);
        let seps = joined.chars().filter(|&c| is_sep(c)).count();
        if seps > 2 {
            return None;
        }
        if k >= 1 && seps == 2 && !joined.ends_with(is_sep) {
            let date = repair_digits(&joined).into_owned();
            return numeric(&date).map(|kind| (kind, k + 1, date));
        }
    }
    None
}

/// A numeric date whose separators the scan lost ("18 O2 2026", "O3 O3 2026"): a day
/// and a month of one or two digits and a four-digit year, as three words.
fn slashless(words: &[&str], i: usize) -> Option<(Kind, String)> {
    let piece = |k: usize| -> Option<String> {
        let w = words.get(i + k)?.trim_end_matches([',', ';', ')', '.']);
        let d = as_digits(w);
        d.chars().all(|c| c.is_ascii_digit()).then_some(d)
    };
    let (a, b, y) = (piece(0)?, piece(1)?, piece(2)?);
    // A two-digit year only after a date's own label ("ISSUE DATE 07 12 23").
    let labelled = i.checked_sub(1).is_some_and(|k| {
        let w = words[k].trim_end_matches(':').to_lowercase();
        ["date", "dob", "iss", "issued", "exp", "expires", "expiry"].contains(&w.as_str())
    });
    if !(1..=2).contains(&a.len())
        || !(1..=2).contains(&b.len())
        || !(y.len() == 4 || (y.len() == 2 && labelled))
    {
        return None;
    }
    let y_num: i32 = y.parse().ok()?;
    if y.len() == 4 && !(1900..=2100).contains(&y_num) {
        return None;
    }
    let text = format!("{a}/{b}/{y}");
    numeric(&text).map(|kind| (kind, text))
}

/// Two numeric dates joined by a dash into one word ("01/21/2025-01/23/2025"), each with
/// its text.
fn joined_range(word: &str) -> Option<((Kind, String), (Kind, String))> {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let (a, b) = w.split_once(['-', '–'])?;
    let date = |p: &str| {
        // Each end written with slashes or dots, not dashes (2026-03-04 is one date).
        if !p.contains(['/', '.']) {
            return None;
        }
        numeric(p).map(|kind| (kind, p.to_string()))
    };
    Some((date(a)?, date(b)?))
}

/// A numeric date written onto its label ("Date:O9/O9/2015", "DOB:l4/06/l929"): (the
/// label with its colon, kind, the date's text).
fn glued(word: &str) -> Option<(String, Kind, String)> {
    let (label, rest) = word.split_once(':')?;
    if label.is_empty() || !label.chars().all(char::is_alphabetic) || rest.len() < 6 {
        return None;
    }
    let date = repair_digits(rest);
    let kind = numeric(&date)?;
    let text = date
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    Some((format!("{label}:"), kind, text))
}

fn candidates(lines: &[Vec<&str>]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (li, words) in lines.iter().enumerate() {
        let mut i = 0;
        while i < words.len() {
            let mut glued_label = None;
            // (kind, words used, written in numbers, the text when it runs onto the next line)
            let found = named(words, i)
                .map(|(y, m, d, n)| (Kind::Fixed(y, m, d), n, false, None))
                .or_else(|| {
                    numeric(words[i])
                        .filter(|_| !not_a_date(words, i))
                        .map(|kind| (kind, 1, true, None))
                })
                .or_else(|| spaced(words, i).map(|(kind, n, text)| (kind, n, true, Some(text))))
                .or_else(|| slashless(words, i).map(|(kind, text)| (kind, 3, true, Some(text))))
                .or_else(|| {
                    glued(words[i]).map(|(label, kind, text)| {
                        glued_label = Some(label);
                        (kind, 1, true, Some(text))
                    })
                })
                .or_else(|| {
                    // "Dáta / Date: 3 Deireadh" / "Fómhair 2025": the month and year on
                    // the next line.
                    named_over_lines(words, i, lines.get(li + 1)).map(|(y, m, d, here, there)| {
                        let next = &lines[li + 1];
                        let text = format!("{} {}", words[i..].join(" "), next[..there].join(" "));
                        (Kind::Fixed(y, m, d), here, false, Some(text))
                    })
                })
                .or_else(|| {
                    // "Discharged: 03.02." / "2026 14:30": the year on the next line.
                    let w = words[i];
                    if i + 1 != words.len() || !w.ends_with(['/', '.', '-']) {
                        return None;
                    }
                    let year = lines.get(li + 1)?.first()?;
                    let year = year.trim_end_matches([',', '.', ';']);
                    if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    // ("O2/24/" / "2026": OCR's letters for digits too.)
                    let joined = repair_digits(&format!("{w}{year}")).into_owned();
                    numeric(&joined).map(|kind| (kind, 1, true, Some(joined)))
                })
                .or_else(|| {
                    named_no_year(words, i).map(|(m, d, n)| (Kind::NoYear(m, d), n, false, None))
                })
                .or_else(|| numeric_no_year(words, i).map(|kind| (kind, 1, true, None)));
            // "01/21/2025-01/23/2025": a range in one word, each end a date.
            if found.is_none()
                && let Some((a, b)) = joined_range(words[i])
            {
                for (k, (kind, text)) in [a, b].into_iter().enumerate() {
                    out.push(Candidate {
                        line: li,
                        words: i..i + 1,
                        text,
                        kind,
                        glued: (k == 1).then(|| "-".to_string()),
                    });
                }
                i += 1;
                continue;
            }
            let Some((kind, n, in_numbers, text)) = found else {
                i += 1;
                continue;
            };
            let text = text.unwrap_or_else(|| words[i..i + n].join(" "));
            let text = if in_numbers {
                text.trim_matches(|c: char| !c.is_ascii_alphanumeric())
            } else {
                text.trim_matches(|c: char| !c.is_alphanumeric())
            };
            out.push(Candidate {
                line: li,
                words: i..i + n,
                text: text.to_string(),
                kind,
                glued: glued_label,
            });
            i += n;
        }
    }
    out
}

enum Shown {
    None,
    One(Order),
    Both,
}

/// The order the document's own numeric dates show: one, both (they disagree), or none.
fn shown_order(cands: &[Candidate]) -> Shown {
    let (mut day, mut month) = (0, 0);
    for c in cands {
        if let Some(parts) = numeric_parts(&c.text) {
            if parts.0 > 12 {
                day += 1;
            } else if parts.1 > 12 {
                month += 1;
            }
        }
    }
    // Else a numeric date that repeats one written with its month's name ("Dictated:
    // Mar 12, 2024   Signed: ... 03/12/2024"): the order that makes them one day.
    if (day, month) == (0, 0) {
        let fixed: Vec<(i32, u32, u32)> = cands
            .iter()
            .filter_map(|c| match c.kind {
                Kind::Fixed(y, m, d) => Some((y, m, d)),
                _ => None,
            })
            .collect();
        for c in cands {
            if let Kind::Numeric(a, b, y) = c.kind
                && a != b
                && a <= 12
                && b <= 12
            {
                let month_first = fixed.contains(&(y, a, b));
                let day_first = fixed.contains(&(y, b, a));
                match (day_first, month_first) {
                    (true, false) => day += 1,
                    (false, true) => month += 1,
                    _ => {}
                }
            }
        }
    }
    match (day, month) {
        (0, 0) => Shown::None,
        (_, 0) => Shown::One(Order::DayFirst),
        (0, _) => Shown::One(Order::MonthFirst),
        _ => Shown::Both,
    }
}

fn numeric_parts(word: &str) -> Option<(u32, u32)> {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let sep = w.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = w.split(sep).collect();
    if parts.len() != 3 || parts[0].len() > 2 {
        return None;
    }
    Some((parts[0].parse().ok()?, parts[1].parse().ok()?))
}

/// Lines at the top of a document that carry its writer's letterhead.
const LETTERHEAD_LINES: usize = 4;

/// Where the writer of a document is, from the addresses in its letterhead (its first
/// lines): a US hospital writes month-first whoever its patient is, an Irish or British
/// one day-first; a Canadian one decides nothing (`Some(None)`). `None` when the
/// letterhead shows no country, or more than one.
fn letterhead_order(lines: &[Vec<&str>]) -> Option<Option<Order>> {
    // (The patient's own lines are no letterhead: "Home address: ... Vancouver, BC".)
    let top: Vec<String> = lines
        .iter()
        .take(LETTERHEAD_LINES)
        .map(|l| capped_join(l, 300))
        .filter(|l| {
            let l = l.to_lowercase();
            !["patient", "home address", "address:", "re:", "name:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    let text = top.join("\n");
    let (ie, us, ca) = (
        day_first_address(&text),
        month_first_address(&text),
        canadian_address(&text),
    );
    match (ie, us, ca) {
        (true, false, false) => Some(Some(Order::DayFirst)),
        (false, true, false) => Some(Some(Order::MonthFirst)),
        (false, false, true) => Some(None),
        _ => None,
    }
}

/// Words of an Irish or British address (or its health services).
const DAY_FIRST_PLACES: &[&str] = &[
    "ireland", "dublin", "cork", "galway", "limerick", "eircode", "england", "scotland", "wales",
    "london", "nhs", "hse",
];
/// Words of a US address, read anywhere on a page.
const MONTH_FIRST_PLACES: &[&str] = &[
    "usa",
    "massachusetts",
    "boston",
    "california",
    "texas",
    "florida",
    "ohio",
];
/// More words of a US address, read only in a letterhead (the writer's): its states and
/// largest hospital cities, not those that are also names or British places ("Virginia",
/// "Georgia", "Jersey", "Washington", "Cleveland").
const MONTH_FIRST_LETTERHEAD: &[&str] = &[
    "alabama",
    "alaska",
    "arizona",
    "arkansas",
    "colorado",
    "connecticut",
    "delaware",
    "hawaii",
    "idaho",
    "illinois",
    "iowa",
    "kansas",
    "kentucky",
    "louisiana",
    "maryland",
    "michigan",
    "minnesota",
    "mississippi",
    "missouri",
    "nebraska",
    "nevada",
    "oklahoma",
    "oregon",
    "pennsylvania",
    "tennessee",
    "utah",
    "vermont",
    "wisconsin",
    "wyoming",
    "seattle",
    "chicago",
    "philadelphia",
    "atlanta",
    "minneapolis",
    "baltimore",
    "pittsburgh",
    "detroit",
    "milwaukee",
];

/// Lower-case words of `text`, split at anything but letters and digits.
fn address_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// An Irish or British address: a place, an Eircode ("H91 T2K4") or a postcode ("DT11
/// 7PQ").
fn day_first_address(text: &str) -> bool {
    address_words(text)
        .iter()
        .any(|w| DAY_FIRST_PLACES.contains(&w.as_str()))
        || text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| {
                let (a, b) = (w[0].trim_matches(','), w[1].trim_end_matches([',', '.']));
                eircode(a, b) || uk_postcode(a, b)
            })
}

/// A US address: a state's name or "City, ST 12345".
fn month_first_address(text: &str) -> bool {
    address_words(text).iter().any(|w| {
        MONTH_FIRST_PLACES.contains(&w.as_str()) || MONTH_FIRST_LETTERHEAD.contains(&w.as_str())
    }) || us_zip(text)
}

/// A Canadian address: its postal code ("M4G 3C2") or its country.
fn canadian_address(text: &str) -> bool {
    address_words(text).iter().any(|w| w == "canada")
        || text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| {
                let (a, b) = (
                    w[0].as_bytes(),
                    w[1].trim_end_matches([',', '.']).as_bytes(),
                );
                a.len() == 3
                    && b.len() == 3
                    && a[0].is_ascii_uppercase()
                    && a[1].is_ascii_digit()
                    && a[2].is_ascii_uppercase()
                    && b[0].is_ascii_digit()
                    && b[1].is_ascii_uppercase()
                    && b[2].is_ascii_digit()
            })
}

/// An Eircode: a routing key ("H91", "D6W") and four letters and digits ("T2K4").
fn eircode(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == 3
        && b.len() == 4
        && a[0].is_ascii_uppercase()
        && a[1].is_ascii_digit()
        && (a[2].is_ascii_digit() || a == b"D6W")
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_uppercase)
}

/// A British postcode: an outward code ("DT11", "BR4", "SW1A") and an inward one, a digit
/// and two letters ("7PQ").
fn uk_postcode(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let letters = a.iter().take_while(|c| c.is_ascii_uppercase()).count();
    (2..=4).contains(&a.len())
        && (1..=2).contains(&letters)
        && a.get(letters).is_some_and(u8::is_ascii_digit)
        && a[letters..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b.len() == 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_uppercase()
}

/// The order an address on the document shows: Ireland or the UK, or the US.
fn address_order(text: &str) -> Option<Order> {
    let words = address_words(text);
    let ie = words.iter().any(|w| DAY_FIRST_PLACES.contains(&w.as_str()));
    let us = words
        .iter()
        .any(|w| MONTH_FIRST_PLACES.contains(&w.as_str()))
        || us_zip(text);
    match (ie, us) {
        (true, false) => Some(Order::DayFirst),
        (false, true) => Some(Order::MonthFirst),
        _ => None,
    }
}

/// A US state abbreviation followed by a ZIP code ("MA 02115", "NY 10001-1234").
fn us_zip(text: &str) -> bool {
    const STATES: &[&str] = &[
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
        "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
        "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
        "VA", "WA", "WV", "WI", "WY", "DC",
    ];
    // "City, ST 12345": the comma after the city keeps "Patient ID 48213" out.
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(3).any(|w| {
        if !w[0].ends_with(',') {
            return false;
        }
        let state = w[1].trim_end_matches(',');
        let zip = w[2].trim_end_matches([',', '.']);
        let digits = zip.split('-').next().unwrap_or("");
        STATES.contains(&state) && digits.len() == 5 && digits.chars().all(|c| c.is_ascii_digit())
    })
}

const BIRTH: &[&str] = &[
    "dob",
    "d.o.b",
    "date of birth",
    "birth date",
    "birthdate",
    "born",
    "geb",
    "date de naissance",
    "fecha de nacimiento",
    "né le",
    "née le",
    "né(e) le",
    "ddn",
    "dn",
    "dáta breithe",
];
const DUE: &[&str] = &[
    "tell us by",
    "return completed form",
    "to be collected",
    "return this form",
    "estimated end date",
    "estimated end",
    "let us know by",
    "reply by",
    "respond by",
    "return by",
    "return it by",
    "tci",
    "tci date",
    "date to come in",
    "refill by",
    "return to work",
    "return to school",
    "may return",
    "fit to return",
    "back to work",
    "review on",
    "review in",
    "review date",
    "follow-up",
    "follow up",
    "followup",
    "next appointment",
    "next dose",
    "next due",
    "expires",
    "expiry",
    "valid until",
    "valid to",
    "valid thru",
    "recall",
    "return on",
    "repeat on",
    "repeat bloods",
    "moved to",
    "rescheduled to",
    "rescheduled for",
    "appointment on",
    "appointment date",
    "to be seen",
    "next",
    "return visit",
    "replaced by",
    "removed by",
    "to be removed",
    // (A course's "Stop date:", a plan's "End date:".)
    "stop date",
    "end date",
    "due date",
    "due by",
    "due on",
    "expiry date",
    "expiration",
    "expiration date",
    "valid through",
    "good thru",
    "good through",
    "renew by",
    "appointment",
    "appt",
    "appointments",
    "due between",
    "due from",
    "f/u",
    "f/up",
    "renewal",
    "renewal date",
    "renews",
    "pay by",
    "payment due",
    "planned date",
    "expected service start",
    "expected start",
    "expected start date",
    "anticipated start",
    "planned procedure",
    "planned procedure date",
    "planned operation",
    "planned operation date",
    "planned surgery",
    "planned surgery date",
    "planned date of surgery",
    "intended date",
    "provisional date",
    "intended date of procedure",
    "scheduled date",
    "scheduled procedure",
    "scheduled procedure date",
    "valid for",
    "from date of issue",
    "proposed date",
    "tentative date",
    "date planned",
    "provisionally listed",
    "listed for",
    "date prévue",
    "prochain rendez-vous",
    "prochaine dose",
    "rendez-vous",
    "revoir",
    "valide jusqu'au",
    "expire le",
    "do not use after",
    "use by",
    "use before",
    "discard after",
    "edd",
    "expected date of delivery",
    "estimated due date",
    "on or after",
    "not before",
    "no earlier than",
    "opd review",
    "clinic review",
    "outpatient review",
    "review by",
    "review due",
    "must be dispensed",
    "dispensed by",
    "will start",
    "will start on",
    "suture removal",
    "removal of sutures",
    "to be reviewed",
    "to be reviewed by",
    "recommended review",
    "suivi",
    "à retirer",
    "prochain",
    "prochaine",
];

/// Due labels that count only nearest the date ("Repeat CXR on", but not "Repeat
/// prescription dated").
const DUE_NEAR: &[&str] = &[
    "until",
    "w/c",
    "week commencing",
    "week beginning",
    "retrait",
    "improving by",
    "not improving",
    "not better",
    "jusqu'au",
    "jusqu'à",
    "avant le",
    "before",
    "to be taken",
    // ("take 1 cap every other day on 3/14, 3/16": doses to come.)
    "take 1",
    "take one",
    "take 2",
    "take two",
    "to be checked",
    "to be done",
    "will review",
    "will see",
    "to review",
    "vers le",
    "prévue",
    "prévu",
    "wound check",
    "post-op check",
    "clips out",
    "sutures out",
    "remove dressings",
    "removal",
    "repeat",
    "recheck",
    "re-check",
    "scheduled",
    "scheduled for",
    "tentative",
    "planned",
    "planned for",
    "booked",
    "booked for",
    "return",
];

/// Labels of dates that are neither the event, the issue, a birth nor due: when the
/// coverage or a record starts, the last period, a date from the history.
const OTHER: &[&str] = &[
    // ("Role: Staff Nurse, Theatres   Start date: 05/01/2026": a job's, a drug's, a
    // cover's start.)
    "start date",
    "were last seen",
    "order date",
    "date ordered",
    "ordered on",
    "date of order",
    "records requested",
    "reported to",
    "reportado al",
    "reportado a",
    "registro estatal",
    "state registry",
    "vis dated",
    "vis date",
    "condition commenced",
    "date condition commenced",
    "first appeared",
    "first unable to work",
    "most recent visit",
    "date of most recent visit",
    "last in-person visit",
    "date of last visit",
    "last visit date",
    "last office visit",
    "date of last office visit",
    "estimated beginning date",
    "estimated start date",
    "paid",
    "paid in full",
    "date paid",
    "payment received",
    "last issued",
    "previously seen",
    "date d'entrée en vigueur",
    "entrée en vigueur",
    "en vigueur",
    "travel dates",
    "departure date",
    "date of departure",
    "date departed",
    "departed",
    "date returned",
    "last entry",
    "date of accident",
    "accident date",
    "date of injury",
    "copy to registered gp sent",
    "copy to gp sent",
    "copy sent",
    "you were referred",
    "were referred to",
    "was referred to",
    "travel date",
    "date of travel",
    "returning",
    "last dose",
    "eff",
    "eff. date",
    "eff date",
    "edition",
    "valid",
    "cover valid from",
    "claims processed",
    "processed",
    "date requested",
    "requested on",
    "request date",
    "date of request",
    "last episode",
    "previous episode",
    // (A report's "Date Range: 01/01/2019 - 12/31/2019": the period it covers.)
    "date range",
    "effective",
    "effective date",
    "coverage start",
    "date of last",
    "last menstrual period",
    "lmp",
    "member since",
    "dated from",
    "records from",
    "valid from",
    "for life from",
    "valid for life from",
    "last attended",
    "referral dated",
    "documented",
    "was tested",
    "were tested",
    "tested at",
    "last seen alive",
    "entered on",
    "triaged",
    "triaged by",
    "entered",
    "date entered",
    "your letter dated",
    "your letter of",
];

/// Labels of the latest visit before a document: history in a note, the writer's own
/// visit in a referral.
pub(crate) const LAST_VISIT: &[&str] = &[
    "most recent visit",
    "date of most recent visit",
    "last in-person visit",
    "date of last visit",
    "last visit date",
    "last office visit",
    "date of last office visit",
];

/// Labels of a prescription's filling at a pharmacy: another date's (history, or the
/// prescription's event when its writing is not dated).
pub(crate) const FILLED: &[&str] = &[
    "date filled",
    "filled",
    "fill date",
    "dispensed",
    "date dispensed",
    "dispensed on",
    "disp",
    "disp.",
    "dispensing date",
    "date of dispensing",
];

/// Issue labels counted only nearest the date: when a booking was made ("Booked on:
/// 02/03/2026"), not the appointment it made.
const ISSUED_NEAR: &[&str] = &["booked on", "date booked", "booking date", "sent"];

/// The same, counted only nearest the date ("symptoms since", "Comparison:").
const OTHER_NEAR: &[&str] = &[
    "since",
    "referral received",
    "referral was received",
    "returned on",
    "letter received",
    "anti-hbs",
    "antibody",
    "antibodies",
    "titre",
    "titer",
    "serology",
    "igra",
    "depuis le",
    "depuis",
    "noticed",
    // ("Trip: Kenya / Tanzania safari, depart Apr 4, 2025": a traveller's.)
    "depart",
    "departs",
    "departing",
    "departure",
    "departed",
    // ("Source: clinic records + registry (reconciled 02/02/2026)": a record kept.)
    "reconciled",
    "travel date",
    "comparison",
    "compared with",
    "compared to",
    "prior study of",
    "prior",
    "onset",
];
const SERVICE: &[&str] = &[
    // (A tribunal's "Date of hearing:".)
    "date of hearing",
    "hearing date",
    // A device's check, a recorder's fitting and removal ("Check date: 08 Jan 2026",
    // "Recorder fitted: 19/01/2026 10:32   Removed: 20/01/2026").
    "check date",
    "date of check",
    "interrogation date",
    "date of interrogation",
    "recorder fitted",
    "monitor fitted",
    "date fitted",
    "date of contact",
    "call date",
    "call date/time",
    "date of call",
    "telephone call",
    "contact date",
    "date of review",
    "taken",
    "date taken",
    "hospitalized",
    "hospitalised",
    "was hospitalized",
    "was hospitalised",
    "bloods taken",
    "blood taken",
    "samples taken",
    "swab taken",
    "specimen taken",
    "date of assessment",
    "assessment date",
    "assessed on",
    "assessed your case on",
    "assessed your case",
    "assessed in",
    "was assessed",
    "assessment started",
    "date of sight test",
    "date of service",
    "dates of service",
    "service dates",
    "service date",
    "dos",
    "coll",
    "sample taken",
    "specimen taken",
    "date taken",
    "rec'd",
    "rec’d",
    "recd",
    "adm",
    "disch",
    "encounter",
    "collected",
    "collection date",
    "presented to our ed on",
    "presented to our emergency department on",
    "presented to the emergency department on",
    "presented to ed on",
    "attended our ed on",
    "attended the emergency department on",
    "collection",
    "specimen date",
    "sample date",
    "sampled",
    "assessed by me on",
    "seen by me on",
    "examined by me on",
    "reviewed by me on",
    "received",
    "accessioned",
    "date of visit",
    "visit date",
    "seen on",
    "call received",
    "call rec'd",
    "call recd",
    "discharging",
    "case received",
    "intervention",
    "date de congé",
    "congé",
    "date of treatment",
    "treatment date",
    "dates of treatment",
    "date treated",
    "given",
    "dose",
    "date of administration",
    "administration date",
    "administered on",
    "call taken",
    "see me on",
    "to see me",
    "saw you",
    "pleasure to see you",
    "pleasure to see",
    "pleasure seeing",
    "pleasure to meet",
    "pleasure meeting",
    "pleasure to review",
    "nice to see you",
    "nice to meet you",
    "seeing you",
    "revu",
    "j'ai revu",
    "j'ai vu",
    "clinique",
    "saw",
    "i saw",
    "saw on",
    "seen in clinic",
    "going home",
    "went home",
    "discharged home",
    "i reviewed",
    "in the surgery on",
    "in surgery on",
    "reviewed on",
    "reviewed in clinic",
    "clinic date",
    "date of clinic",
    "date of examination",
    "exam date",
    "examination date",
    "date of exam",
    "date of procedure",
    "procedure date",
    "date of operation",
    "operation date",
    "date of surgery",
    "surgery date",
    "admitted",
    "admission date",
    "date of admission",
    "discharged",
    "discharge date",
    "date of discharge",
    "date of consultation",
    "date of consult",
    "date of op",
    "op date",
    "arrived",
    "arrival",
    "triaged",
    "examined",
    "date examined",
    "date de l'intervention",
    "date de l'examen",
    "date de la visite",
    "date de visite",
    "date de prélèvement",
    "prélevé le",
    "prélèvement",
    "examen physique le",
    "vu le",
    "date d'admission",
    "date du congé",
    "consult date",
    "delivery",
    "date of delivery",
    "delivered",
    "consultation date",
    "date of test",
    "test date",
    "reported",
    "report date",
    "date reported",
    "date of report",
    "vaccinated",
    "date given",
    "given on",
    "administered",
    "date administered",
    "date of scan",
    "scan date",
    "attended",
    "attending for",
    "for attending",
    "date of attendance",
    "study date",
    "date of study",
    "performed",
    "encounter date",
    "date of encounter",
    "date of injury",
    "date seen",
    "visit",
    "admission",
    "discharge",
    "episode",
    "date of vaccination",
    "consultation",
    "procedure",
    "operation",
    "clinic",
    "admit date",
    "authorised",
    "authorized",
    "verified",
    "validated",
    "final report",
    "seen",
    "agreed at meeting on",
    "meeting on",
    "date of meeting",
    "meeting date",
    "vu au",
    "vue au",
    "vu à",
    "evaluated",
    "i evaluated",
    "in the office on",
    "attendance",
    "rest imaging",
    "stress imaging",
    "imaging date",
    "date of imaging",
    "final",
    "date of death",
    "died on",
    "coming in on",
    "for coming in",
    "sample produced",
    "produced",
    "visiting",
    "for visiting",
    "your visit",
    "you visited",
    "visited",
    "date of incident",
    "incident date",
    "date of accident",
    "date of fall",
    "date of event",
    "event date",
    "date de départ",
    "départ",
    "date de sortie",
    // ("Gracias por su visita del 10 de febrero de 2026")
    "visita del",
    "su visita",
    // ("We completed her initial orthodontic examination and records on 3/24/2026")
    "examination",
    "sortie",
    "exam",
    "the last on",
    "last session",
    "final session",
    "t/c",
    "telephone consultation",
    "phone consultation",
    "phone consult",
    "telephone consult",
    "call start",
    "fecha de visita",
    "fecha de la visita",
    "fecha de servicio",
    "sessions between",
    "sessions from",
    "session on",
    "most recently on",
    "triage start",
    "arrival",
    "contact",
    "start of care",
    "start of care date",
    "certification period",
    "date of first treatment",
    "first treatment",
    "screening date",
    "date of screening",
    "session start",
    "visit start",
    "hook-up",
    "hook up",
    "disconnect",
    "recording night",
    "date of recording",
    "recording date",
    "i assessed",
    "whom i assessed",
    "call end",
    "respite period",
    "respite stay",
    "dates of stay",
    "period of stay",
    "f2f",
    "d/c",
    "d/c date",
    "date of d/c",
    "interventions",
    "date of transfer",
    "transfer date",
    "transferred",
    "validé",
    "validé le",
];

/// Service labels that date the report rather than the event, or the sample's arrival.
const REPORTED: &[&str] = &[
    "reported",
    "finalized",
    "interpreted",
    "interpreted by",
    "auth",
    "finalised",
    "report finalized",
    "report finalised",
    "report date",
    "date reported",
    "date of report",
    "authorised",
    "authorized",
    "verified",
    "validated",
    "final report",
    "final",
    "validé",
    "validé le",
];
const RECEIVED: &[&str] = &[
    "received",
    "date received",
    "rec'd",
    "rec’d",
    "recd",
    "accessioned",
];
const ISSUED: &[&str] = &[
    // ("Read by: Deborah Lindgren, MD   Date read: 10-10-2025": a report's reading.)
    "date read",
    "read on",
    "date",
    // (A referral's own date: another paper's on anything but the referral.)
    "referral date",
    "date of referral",
    // (An urgent referral's "Date of decision to refer:": its own date, or the visit
    // that decided it when no visit is dated.)
    "date of decision to refer",
    "decision to refer",
    "dated",
    "printed",
    "print date",
    "letter date",
    "date of letter",
    "typed",
    "dictated",
    "issued",
    "date issued",
    "date of issue",
    "issue date",
    "date signed",
    "signed",
    "prescribed",
    "date prescribed",
    "written",
    "orig. rx date",
    "original rx date",
    "rx date",
    "prescription dated",
    "signature",
    "iss",
    "generated",
    "report generated",
    "date completed",
    "completed by",
    "clinician",
    "transcribed",
    "date sent",
    "reviewed by",
    "sent to",
    "signé le",
    "signé",
    "last updated",
    "updated",
    "prepared",
    "plan prepared",
    "record closed",
    "closed",
    "dáta",
    "created",
    "date created",
    "referral created",
    "sent electronically",
    "email was sent on",
    "message was sent on",
    "message sent",
    "notification sent",
    "transmitted",
    "version date",
    "consent version date",
    "version",
    "dicté",
    "dicté le",
    "statement date",
    "statement",
    "émise le",
    "émis le",
    "émise",
    "émis",
    "dictée",
    "dictée le",
    "transcrite",
    "transcrite le",
    "transcrit",
    "transcrit le",
    "tapé le",
    "imprimé",
    "imprimé le",
    "date d'impression",
    "impression",
    "produit le",
    "édité le",
];

/// Whether words say "due", but not "due to" (a cause).
fn says_due(words: &[&str]) -> bool {
    words
        .iter()
        .enumerate()
        .any(|(i, w)| *w == "due" && words.get(i + 1) != Some(&"to"))
}

/// A numeric date as OCR may read it, its digits given back: a letter O for a zero, an l
/// or I for a one ("O3/04/1956", "2l/01/2026"). Only a word of digits, at least four,
/// and two separators, with such letters among them, is changed.
fn repair_digits(word: &str) -> std::borrow::Cow<'_, str> {
    let body = word.trim_end_matches([',', '.', ';', ')']);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let separators = body
        .chars()
        .filter(|c| matches!(c, '/' | '.' | '-'))
        .count();
    let lookalike = |c: char| matches!(c, 'O' | 'o' | 'l' | 'I' | 'S' | 'B');
    let only = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '/' | '.' | '-') || lookalike(c));
    if digits < 4 || separators != 2 || !only || !body.chars().any(lookalike) {
        return std::borrow::Cow::Borrowed(word);
    }
    std::borrow::Cow::Owned(as_digits(word))
}

/// Titles in which "clinique" qualifies a trade ("Validé par: M. Pelletier, biochimiste
/// clinique — 2026-02-11").
const CLINICAL_TITLES: &[&str] = &[
    "biochimiste clinique",
    "chimiste clinique",
    "biologie clinique",
    "biochimie clinique",
    "chimie clinique",
    "pharmacien clinique",
    "infirmière clinique",
];

/// Names of a request for a visit, whose "consultation" is yet to come.
const REQUESTS: &[&str] = &[
    "consultation request",
    "request for consultation",
    "referral for consultation",
    "demande de consultation",
];

/// Words ending a line whose sentence, and label, goes on to a date opening the next
/// ("attended 6 sessions, the last on" / "20/01/2026").
const LABEL_CARRIES: &[&str] = &["on", "le", "du", "of", "from", "dated", "since", "until"];

/// The line a sentence began on when form fields ("Name:", "DOB:", "Address:") interrupt
/// it before it goes on at the start of line `line`: the nearest of the four above with
/// no colon, none of its own dates, ending on a word, when only fields come between.
fn sentence_over_fields(lines: &[Vec<&str>], line: usize, dated: &[bool]) -> Option<usize> {
    let mut fields = 0;
    for k in (line.saturating_sub(4)..line).rev() {
        let words = &lines[k];
        if words.is_empty() {
            continue;
        }
        // A field opens its line ("Name:", "Date of birth:"), not "due to:" in a sentence.
        if words.iter().take(3).any(|w| w.ends_with(':')) {
            fields += 1;
            continue;
        }
        let ends_on_word = words
            .last()
            .is_some_and(|w| w.chars().all(char::is_alphabetic));
        return (fields > 0 && ends_on_word && !dated[k]).then_some(k);
    }
    None
}

/// The last words of a line, at most `n`, after its last word holding a digit: the start
/// of a label that goes on to the next line.
fn trailing_words<'a>(line: &[&'a str], n: usize) -> Vec<&'a str> {
    let words = line
        .iter()
        .rev()
        .take(n)
        .take_while(|w| !w.chars().any(|c| c.is_ascii_digit()))
        .count();
    line[line.len() - words..].to_vec()
}

/// Words that say when the paper itself was made, nothing of what it is about.
pub(crate) const PRINTED: &[&str] = &[
    "date d'impression",
    "run date",
    "date run",
    "printed",
    "printed on",
    "print date",
    "date printed",
    "typed",
    "transcribed",
    "generated",
    "imprimé le",
];

/// A label as OCR may read it, its letters given back: a digit between two letters is
/// the letter it looks like ("Date of Adm1ssion", "Rep0rted").
fn deocr(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let letter = |k: Option<usize>| {
            k.and_then(|k| chars.get(k))
                .is_some_and(|c| c.is_alphabetic())
        };
        let between = letter(i.checked_sub(1)) && letter(Some(i + 1));
        // ("Co1lected", "fo1low-up": beside an l, an l.)
        let beside_l = [i.checked_sub(1), Some(i + 1)]
            .iter()
            .any(|k| k.and_then(|k| chars.get(k)) == Some(&'l'));
        out.push(match c {
            '1' if between && beside_l => 'l',
            '1' if between => 'i',
            '0' if between => 'o',
            '5' if between => 's',
            _ => c,
        });
    }
    out
}

/// The role the words before a date (its label) give it: a birth phrase, else a due one
/// ("review in clinic on" is not a visit), else another date's label (when coverage
/// starts, the last period), else a service one, else an issue one; among phrases of one
/// role, the nearest to the date. Some labels count only when nearest the date ("Repeat
/// CXR on", "since").
fn role_of(before: &str) -> Option<(DateRole, &'static str)> {
    let mut lower = deocr(&before.to_lowercase());
    // "Date/time of call:", "Date and time of visit:": a date's field, its time beside.
    for both in ["date/time of ", "date & time of ", "date and time of "] {
        lower = lower.replace(both, "date of ");
    }
    // A Spanish "Fecha:" is a plain "Date:" (but "Fecha de nacimiento" names its own).
    let plain: Vec<usize> = lower
        .match_indices("fecha")
        .map(|(at, _)| at)
        .filter(|&at| {
            !lower[at + "fecha".len()..].trim_start().starts_with("de ")
                && !lower[..at].ends_with(|c: char| c.is_alphanumeric())
        })
        .collect();
    for at in plain.into_iter().rev() {
        lower.replace_range(at..at + "fecha".len(), "date ");
    }
    // "biochimiste clinique": a signatory's title, no visit to a clinic.
    for title in CLINICAL_TITLES {
        while let Some(at) = lower.find(title) {
            let word = at + title.len() - "clinique".len();
            lower.replace_range(word..at + title.len(), "--------");
        }
    }
    // "CONSULTATION REQUEST - OBSTETRICS   Date: 19/02/2026": a request's date, no visit.
    for request in REQUESTS {
        while let Some(at) = lower.find(request) {
            let visit = request.find("consultation").unwrap_or(0);
            lower.replace_range(
                at + visit..at + visit + "consultation".len(),
                "------------",
            );
        }
    }
    let lower = lower.trim_end();
    // "Consultation Report    Printed: 05/03/2026": the print date of a report whose
    // title names a visit. A word that says only when the paper was made, right before
    // the date, is its label.
    // ("APPOINTMENT NOTIFICATION   Date of letter: 12/01/2026": so is a letter's own
    // date's field, whatever the title before it.)
    if let Some(&phrase) = PRINTED
        .iter()
        .chain(["date of letter", "letter date"].iter())
        .find(|&&p| super::phrase_ends(lower, p).any(|end| end == lower.len()))
    {
        return Some((DateRole::Issued, phrase));
    }
    // (role priority, where the phrase ends, its length): the largest wins.
    let mut best: Option<((u8, usize, usize), DateRole, &'static str)> = None;
    let mut all: Vec<((u8, usize, usize), DateRole, &'static str)> = Vec::new();
    for (list, role, priority) in [
        (BIRTH, DateRole::Birth, 5u8),
        (DUE, DateRole::Due, 4),
        (OTHER, DateRole::Other, 3),
        (FILLED, DateRole::Other, 3),
        (SERVICE, DateRole::Service, 2),
        (ISSUED, DateRole::Issued, 1),
    ] {
        for &phrase in list {
            for end in super::phrase_ends(lower, phrase) {
                // "deferred to a date after": a date in a sentence, no label.
                if phrase == "date"
                    && lower[end..].split_whitespace().next().is_some_and(|w| {
                        matches!(
                            w,
                            "after" | "before" | "than" | "for" | "to" | "by" | "when"
                        )
                    })
                {
                    continue;
                }
                // The highest role, then nearest to the date, then the longest phrase.
                let key = (priority, end, phrase.len());
                all.push((key, role, phrase));
                if best.is_none_or(|(k, _, _)| key > k) {
                    best = Some((key, role, phrase));
                }
            }
        }
    }
    // A longer phrase ending the same and holding the winner names the field better,
    // whatever its role ("Date of review:" is the review held, not "review" to come).
    if let Some(((_, end, len), _, phrase)) = best
        && let Some(&longer) = all
            .iter()
            .filter(|((_, e, l), _, p)| *e == end && *l > len && p.ends_with(phrase))
            .max_by_key(|((_, _, l), _, _)| *l)
    {
        best = Some(longer);
    }
    // "I saw him in follow-up on 20/01/2026", "I reviewed Patrick at his annual diabetes
    // review on 7th October 2025": a visit that happened, not one to come.
    if let Some(((_, end, _), DateRole::Due, phrase)) = best
        && (FOLLOW_UP.contains(&phrase) || REVIEWS.contains(&phrase) || phrase == "recall")
        && seen_in_follow_up(&lower[..end - phrase.len()])
    {
        best = Some((
            (2, end, phrase.len()),
            DateRole::Service,
            "seen in follow-up",
        ));
    }
    // The nearest of the labels that count only when nearest.
    let mut near: Option<((usize, usize), DateRole, &'static str)> = None;
    for (list, role) in [
        (DUE_NEAR, DateRole::Due),
        (OTHER_NEAR, DateRole::Other),
        (ISSUED_NEAR, DateRole::Issued),
    ] {
        for &phrase in list {
            for end in super::phrase_ends(lower, phrase) {
                let key = (end, phrase.len());
                if near.is_none_or(|(k, _, _)| key > k) {
                    near = Some((key, role, phrase));
                }
            }
        }
    }
    match (best, near) {
        (Some(((p, end, _), _, _)), Some(((near_end, _), role, phrase)))
            if p < 5 && near_end > end =>
        {
            Some((role, phrase))
        }
        (None, Some((_, role, phrase))) => Some((role, phrase)),
        (best, _) => best.map(|(_, r, p)| (r, p)),
    }
}

/// Names of a review visit, to come unless a verb before says it was held.
const REVIEWS: &[&str] = &["review", "review on"];

/// Names of a follow-up visit.
const FOLLOW_UP: &[&str] = &["follow-up", "follow up", "followup"];
/// Words that put a follow-up in the future ("will see her in follow-up on").
const TO_COME_WORDS: &[&str] = &[
    "will", "to be", "next", "please", "arrange", "arranged", "book", "booked", "plan",
];

/// Whether the words before "follow-up" say it took place ("I saw Fiona in follow-up
/// on", "seen at her follow-up on"): "in" or "at" (a possessive between), and nothing
/// putting it in the future.
fn seen_in_follow_up(before: &str) -> bool {
    let words: Vec<&str> = before.split_whitespace().rev().take(2).collect();
    // ("I saw Karim for follow-up on 04/03/2026".)
    let saw = ["saw", "seen", "reviewed", "met"]
        .iter()
        .any(|w| super::phrase_ends(before, w).next().is_some());
    let at = match words.as_slice() {
        [w, ..] if *w == "in" || *w == "at" => true,
        [w, ..] if *w == "for" => saw,
        // ("I reviewed Patrick at his annual diabetes review on")
        _ if saw && super::phrase_ends(before, "at").next().is_some() => true,
        [w, "at", ..] => ["his", "her", "your", "their"].contains(w),
        _ => false,
    };
    at && !TO_COME_WORDS
        .iter()
        .any(|w| super::phrase_ends(before, w).next().is_some())
}

/// Labels too common inside sentences ("admitted due to a fall") to be read anywhere but
/// alone, as the whole label ("Due: 05/06/2026", "Exp 12/31/2027").
const DUE_ALONE: &[&str] = &[
    "due",
    "exp",
    "exp.",
    "until",
    "expires on",
    "review",
    "f/u",
    // ("... or by phoning 091 544 100, by 24/03/2026")
    "by",
];
/// The same for service dates ("Assessment: 20/01/2026 (telephone)", not "referred for
/// assessment on").
const SERVICE_ALONE: &[&str] = &["assessment", "assessed", "examined", "fitted", "removed"];
/// The same for issue dates.
/// ("Completed 03/04/2026" is a form's; "Pre-exposure course completed 27/01/2026" is
/// from the history.)
const ISSUED_ALONE: &[&str] = &[
    "d",
    "t",
    "dd",
    "dt",
    "dict",
    "trans",
    "le",
    "completed",
    // ("Reviewed 2024 Nov 20 by: R. Desjardins, PHN" closing a record)
    "reviewed",
];

/// The role of a date from the words before it: the last clause of them (after the last
/// colon, semicolon or comma: "DOB: N/A, Date of visit:" is a visit), then [`role_of`]; a
/// clause ending in "due" is due ("Dose 2 due: between"); a last clause naming no role
/// takes the nearest clause before it that does ("Completed by: Dr J. Asante, FY1"); a
/// visit under a due label is due ("Next appointment: Paediatric clinic").
fn label_role(before: &str) -> Option<(DateRole, &'static str)> {
    // Long labels are not labels: the last 200 bytes are plenty (on a character boundary).
    let mut cut = before.len().saturating_sub(200);
    while !before.is_char_boundary(cut) {
        cut += 1;
    }
    let before = &before[cut..];
    // Clauses, nearest the date first, each with whether a colon comes before it.
    let mut clauses: Vec<(&str, bool)> = Vec::new();
    let mut rest = before;
    while let Some(at) = rest.rfind([':', ';', ',']) {
        clauses.push((rest[at + 1..].trim(), rest[at..].starts_with(':')));
        rest = &rest[..at];
    }
    clauses.push((rest.trim(), false));
    // "Date de l'intervention : le 8 janvier 2026": the article after a label is no label.
    if clauses.len() > 1 && clauses[0].1 && clauses[0].0.eq_ignore_ascii_case("le") {
        clauses.remove(0);
    }
    let role = |clause: &str| -> Option<(DateRole, &'static str)> {
        let lower = clause.to_lowercase();
        // "Exp", or in two languages "EXP/EXP".
        if let Some(&alone) = DUE_ALONE
            .iter()
            .find(|&&d| lower.split('/').all(|part| part.trim() == d))
        {
            return Some((DateRole::Due, alone));
        }
        // "D: 07/02/2025 16:10   T: 07/03/2025" (dictated, typed); "Sherbrooke, le
        // 10/12/2025" (a French letter's date).
        if ISSUED_ALONE.contains(&lower.as_str()) {
            return Some((DateRole::Issued, "dated"));
        }
        if let Some(&alone) = SERVICE_ALONE.iter().find(|&&w| w == lower.as_str()) {
            return Some((DateRole::Service, alone));
        }
        // "Form PVFC-REG-2   Completed 02/24/2021": a form's field, capitalised (not
        // "course completed" in a sentence).
        if clause
            .split_whitespace()
            .last()
            .is_some_and(|w| w == "Completed" || w == "COMPLETED")
        {
            return Some((DateRole::Issued, "dated"));
        }
        // "Exp", "due" ending the label, or "due" anywhere in it but "due to" (a cause).
        let words: Vec<&str> = lower.split_whitespace().collect();
        // "(Plan) Booked minor ops clinic 14-Oct-2025": what is booked is to come (but
        // "Booked on" is when the booking was made).
        if let Some(k) = words.iter().take(2).position(|w| *w == "booked")
            && words
                .get(k + 1)
                .is_some_and(|w| !matches!(*w, "on" | "by" | "at"))
        {
            return Some((DateRole::Due, "booked"));
        }
        // "Hep A dose 2 from 05/07/26": when a dose may be given, to come.
        if words.last() == Some(&"from")
            && words
                .iter()
                .any(|w| w.starts_with("dose") || w.starts_with("booster"))
        {
            return Some((DateRole::Due, "due"));
        }
        let due_word = says_due(&words);
        if due_word
            || words
                .last()
                .is_some_and(|w| ["exp", "exp.", "expires", "expiry"].contains(w))
        {
            return Some((DateRole::Due, "due"));
        }
        role_of(clause)
    };
    let mut nonempty = clauses.iter().filter(|(c, _)| !c.is_empty());
    let &(last, after_colon) = nonempty.next()?;
    // The clause and, after a colon, its label ("Previous HbA1c: 7.4 % (collected").
    let labelled_clause = match (after_colon, nonempty.clone().next()) {
        (true, Some((label, _))) => format!("{label} {last}"),
        _ => last.to_string(),
    }
    .to_lowercase();
    // An earlier one's ("Previous HbA1c: 7.4 % (collected 11/18/2025)", "Previous
    // operations (with dates): Laparoscopy").
    // ("Hx R leg cellulitis (adm 12/28/25)": the history's.)
    let earlier = |clause: &str, found: Option<(DateRole, &'static str)>| {
        let clause = clause.to_lowercase();
        let earlier = ["previous", "prior", "earlier", "hx", "h/o", "history of"]
            .iter()
            .any(|w| super::phrase_ends(&clause, w).next().is_some());
        match found {
            // ("Previous statement: Jan 12 '26")
            Some((DateRole::Service | DateRole::Issued, label)) if earlier => {
                Some((DateRole::Other, label))
            }
            other => other,
        }
    };
    let found = earlier(&labelled_clause, role(last));
    // "HbA1c 58 mmol/mol (dated 02/03/2026)": a result's date, quoted.
    // ("DNACPR status unchanged (signed 15-Mar-2025, family aware)": a paper's date,
    // quoted in passing.)
    let quoted = before
        .trim_end()
        .rsplit(' ')
        .next()
        .is_some_and(|w| ["(dated", "(signed", "(sent"].contains(&w.to_lowercase().as_str()));
    // ("as per Advance Care Plan dated 11/11/2025": another paper's date, in a sentence,
    // not "Dated: 05/03/2026".)
    // ("Ref from: Specsavers Harrogate, GOS18 dated 11/12/2025": so after a comma.)
    let words_needed = if nonempty.clone().next().is_some() {
        2
    } else {
        3
    };
    let in_sentence = last.split_whitespace().count() >= words_needed
        && last
            .split_whitespace()
            .last()
            .is_some_and(|w| w.eq_ignore_ascii_case("dated"));
    // Inside a parenthesis the line opened before the label: "Histology: adenocarcinoma
    // (H26-01873, reported 03/02/26)", "(health care proxy signed 05/22/2019)": another
    // paper's date, quoted. (Something else in the parenthesis before its label: a
    // report's own "FINAL (Verified 03/03/2026)" is its own.)
    let in_parenthesis = |label: &str| {
        before.rfind('(').is_some_and(|at| {
            let inside = &before[at + 1..];
            !inside.contains(')')
                && inside.split_whitespace().count() > label.split_whitespace().count()
        })
    };
    let found = match found {
        Some((DateRole::Issued, label)) if quoted => Some((DateRole::Other, label)),
        Some((DateRole::Issued, label @ ("signed" | "dated" | "sent")))
            if in_parenthesis(label) =>
        {
            Some((DateRole::Other, label))
        }
        Some((DateRole::Service, label)) if in_parenthesis(label) && REPORTED.contains(&label) => {
            Some((DateRole::Other, label))
        }
        Some((DateRole::Issued, "dated")) if in_sentence && !after_colon => {
            Some((DateRole::Other, "dated"))
        }
        other => other,
    };
    // "fit note issued to 28/02/2026", "reports must be sent to the Tribunal by
    // 23/03/2026": an issue's end or deadline, to come.
    let found = match found {
        Some((DateRole::Issued, label))
            if before.split_whitespace().last().is_some_and(|w| {
                ["to", "until", "till", "by"].contains(&w.to_lowercase().as_str())
            }) =>
        {
            Some((DateRole::Due, label))
        }
        other => other,
    };
    match found {
        Some((DateRole::Service, _)) if after_colon => {
            // A visit under a due label ("Follow-up: Cardiology clinic").
            let above = nonempty.next().and_then(|(c, _)| role(c));
            match above {
                Some((DateRole::Due, label)) => Some((DateRole::Due, label)),
                _ => found,
            }
        }
        Some(_) => found,
        None => {
            // ("Follow-up: Hand clinic, Oxford - 25/06/2025": a visit under a due label,
            // a place between.)
            // (Only a field's value after its colon: not "Referred for follow-up, seen in
            // hand clinic, Oxford - 25/06/2025".)
            let rest: Vec<(&str, bool)> = nonempty.take(4).copied().collect();
            let (k, found) = rest
                .iter()
                .take(3)
                .enumerate()
                .find_map(|(k, (c, _))| earlier(c, role(c)).map(|f| (k, f)))?;
            match (found, rest.get(k + 1).and_then(|(c, _)| role(c))) {
                ((DateRole::Service, _), Some((DateRole::Due, label))) if rest[k].1 => {
                    Some((DateRole::Due, label))
                }
                _ => Some(found),
            }
        }
    }
}

/// How directly a service date's label dates the service (see [`FoundDate::rank`]).
fn rank_of(label: Option<&str>) -> u8 {
    match label {
        Some(l) if REPORTED.contains(&l) => 0,
        Some(l) if RECEIVED.contains(&l) => 1,
        _ => 2,
    }
}

/// Words that name a column of dates in a table's header.
const HEADER_WORDS: &[&str] = &[
    "date",
    "start",
    "end",
    "stop",
    "dob",
    "born",
    "iss",
    "exp",
    "dos",
    "service date",
    "dates",
    "collected",
    "received",
    "reported",
    "given",
    "administered",
    "due",
    "expires",
    "expiry",
    "next dose",
    "seen",
    "admitted",
    "discharged",
    "vaccinated",
    "performed",
    "when",
    "last issued",
    "review date",
    "next review",
    "coll",
    "rec'd",
    "auth",
];

/// Column names too bare to label a date anywhere but in a table's header (a
/// medication list's "Start" and "End").
const COLUMN_ONLY: &[(&str, DateRole)] = &[
    ("start", DateRole::Service),
    ("start date", DateRole::Service),
    ("end", DateRole::Due),
    ("end date", DateRole::Due),
    ("stop", DateRole::Due),
    ("stop date", DateRole::Due),
    // ("Coll:   Rec'd:   Auth:" over "11-Mar-2026  11-Mar-2026  12-Mar-2026")
    ("coll", DateRole::Service),
    ("auth", DateRole::Service),
];

/// How far above its rows a table's header can be.
const HEADER_REACH: usize = 50;

/// The columns of a table's header above line `line`: among the three nearest lines
/// above without a date of their own (the rows between have one), the first short one
/// naming a column of dates ("Vaccine  Date given  Lot  Next dose"). The `k`th date of a
/// row takes the `k`th column's role (the last one's past them). A plain "Date" column
/// dates each row's event. Empty when there is none.
fn header_columns(
    lines: &[Vec<&str>],
    line: usize,
    dated: &[bool],
) -> Vec<(DateRole, &'static str)> {
    if let Some(own) = stacked_header(lines, line, dated) {
        return own;
    }
    // Rows may wrap onto lines of their own: up to three lines without a date between
    // one row and the next, or the header.
    let mut gap = 0;
    (line.saturating_sub(HEADER_REACH)..line)
        .rev()
        .take_while(|&j| {
            gap = if dated[j] { 0 } else { gap + 1 };
            gap <= 3
        })
        .filter(|&j| !dated[j] && lines[j].len() >= 2)
        .find_map(|j| {
            let words = &lines[j];
            if words.len() > 12 {
                return None;
            }
            // "Painful reducible hernia, enlarging over 6 months. Seen", "about the
            // vaccines you have received.": a sentence.
            let raw = capped_join(words, 300);
            let lowercase = words
                .iter()
                .filter(|w| w.chars().next().is_some_and(char::is_lowercase))
                .count();
            let sentence =
                raw.contains(", ") || raw.contains(". ") || raw.trim_end().ends_with('.');
            if lowercase >= 4 && sentence {
                return None;
            }
            let text = raw.to_lowercase();
            // "Funding: Halewood Medical Assurance, auth. HMA-7730": a field and its value,
            // not a row of column names (though "Date:  Vaccine:  Batch:" is one).
            let field = words.first().is_some_and(|w| {
                w.len() > 1
                    && w.ends_with(':')
                    && columns_of(&w.trim_end_matches(':').to_lowercase()).is_empty()
            }) && words.len() > 2
                && !words[1..].iter().all(|w| w.ends_with(':'));
            if field {
                return None;
            }
            if !HEADER_WORDS
                .iter()
                .any(|w| super::phrase_ends(&text, w).next().is_some())
            {
                return None;
            }
            let columns = columns_of(&text);
            // "Previous lipid profiles (from GP record):" over "Date  TC  LDL-C": a table
            // of the history.
            let history = (j.saturating_sub(2)..j).any(|k| {
                let above = capped_join(&lines[k], 300).to_lowercase();
                ["previous", "prior", "past ", "earlier", "historical"]
                    .iter()
                    .any(|h| above.trim_start().starts_with(h))
            });
            // A line naming no column is no header.
            if columns.is_empty() {
                return None;
            }
            // "Date of birth" above its value is a label, not a table's header, and no
            // header further up reaches past it ("4 Given names" / "CALLUM JAMES" / "5
            // Date of birth   6 Personal identification number" / "02/11/1988  QX 48").
            if columns.iter().all(|(role, _)| *role == DateRole::Birth) {
                return Some(Vec::new());
            }
            Some(
                columns
                    .into_iter()
                    .map(|(role, label)| match (role, label) {
                        (DateRole::Issued | DateRole::Service, _) if history => {
                            (DateRole::Other, label)
                        }
                        (DateRole::Issued, "date" | "dáta") => (DateRole::Service, label),
                        other => other,
                    })
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// The header of row `line` in a block of rows under as many header lines, each row under
/// its own ("Lab No.  Patient  DOB  Sex" / "Date collected  Date received  Date reported"
/// over "S26-O4411  BYRNE, Gráinne  O1/12/1967  F" / "O3/O3/2O26  O4/O3/2O26  1O/O3/2O26"):
/// `None` when the rows are not stacked so.
fn stacked_header(
    lines: &[Vec<&str>],
    line: usize,
    dated: &[bool],
) -> Option<Vec<(DateRole, &'static str)>> {
    let (mut start, mut end) = (line, line);
    while start > 0 && dated[start - 1] {
        start -= 1;
    }
    while end + 1 < lines.len() && dated[end + 1] {
        end += 1;
    }
    let rows = end - start + 1;
    if !(2..=4).contains(&rows) || start < rows {
        return None;
    }
    let header = |k: usize| {
        let words = &lines[k];
        (!dated[k] && (2..=12).contains(&words.len()))
            .then(|| columns_of(&capped_join(words, 300).to_lowercase()))
            .filter(|c| !c.is_empty())
    };
    let headers: Vec<Vec<(DateRole, &'static str)>> =
        (start - rows..start).map(header).collect::<Option<_>>()?;
    let own = headers.into_iter().nth(line - start)?;
    Some(
        own.into_iter()
            .map(|(role, label)| match (role, label) {
                (DateRole::Issued, "date" | "dáta") => (DateRole::Service, label),
                other => other,
            })
            .collect(),
    )
}

/// The role of the `k`th date of line `line` from its table's header (the last column's
/// past them), the header found once per line (`headers`).
fn column(
    headers: &mut [Option<Vec<(DateRole, &'static str)>>],
    lines: &[Vec<&str>],
    line: usize,
    dated: &[bool],
    k: usize,
) -> Option<(DateRole, &'static str)> {
    let columns = headers[line].get_or_insert_with(|| header_columns(lines, line, dated));
    columns.get(k).or(columns.last()).copied()
}

/// The labels in a header line, left to right, each the longest at its place.
fn columns_of(text: &str) -> Vec<(DateRole, &'static str)> {
    let mut found: Vec<(usize, usize, DateRole, &'static str)> = Vec::new();
    for (list, role) in [
        (BIRTH, DateRole::Birth),
        (DUE, DateRole::Due),
        (DUE_ALONE, DateRole::Due),
        (DUE_NEAR, DateRole::Due),
        (OTHER, DateRole::Other),
        (FILLED, DateRole::Other),
        (SERVICE, DateRole::Service),
        (ISSUED, DateRole::Issued),
    ] {
        for &phrase in list {
            for end in super::phrase_ends(text, phrase) {
                found.push((end - phrase.len(), end, role, phrase));
            }
        }
    }
    for &(phrase, role) in COLUMN_ONLY {
        for end in super::phrase_ends(text, phrase) {
            found.push((end - phrase.len(), end, role, phrase));
        }
    }
    // Left to right; at one place the longest first.
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<(DateRole, &'static str)> = Vec::new();
    let mut reached = 0;
    for (start, end, role, phrase) in found {
        // A "Dose" column holds the dose's number, not a date; an "Age due" column, an
        // age; a "Given by" or "Seen by" column, a name.
        let after = text[end..].trim_start();
        if start < reached
            || phrase == "dose"
            || (phrase == "due" && text[..start].trim_end().ends_with("age"))
            || after == "by"
            || after.starts_with("by ")
        {
            continue;
        }
        // One column named in two languages ("DOB/DN", "EXP/EXP").
        let same =
            out.last().is_some_and(|(r, _)| *r == role) && text[reached..start].trim() == "/";
        if !same {
            out.push((role, phrase));
        }
        reached = end;
    }
    out
}

/// A line's words joined, cut at about `max` bytes (a header or label is short).
fn capped_join(words: &[&str], max: usize) -> String {
    let mut out = String::new();
    for w in words {
        if out.len() + w.len() > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Lines read for dates: about fifty pages (a 500-page chart is dated by its first ones,
/// and the work stays linear and small).
pub const MAX_DATE_LINES: usize = 3_000;

/// How many words before a date can be its label.
const LABEL_WORDS: usize = 8;

/// Every date in `lines` (each a line's words in reading order), with its role.
pub fn find_dates(lines: &[Vec<&str>], region: Region) -> Vec<FoundDate> {
    let lines = &lines[..lines.len().min(MAX_DATE_LINES)];
    let repaired: Vec<Vec<std::borrow::Cow<str>>> = lines
        .iter()
        .map(|l| l.iter().map(|w| repair_digits(w)).collect())
        .collect();
    let repaired: Vec<Vec<&str>> = repaired
        .iter()
        .map(|l| l.iter().map(|w| w.as_ref()).collect())
        .collect();
    let lines = &repaired[..];
    let cands = candidates(lines);
    let whole: String = lines
        .iter()
        .map(|l| capped_join(l, 2_000))
        .collect::<Vec<_>>()
        .join("\n");
    let (order, decided, by_region) = match shown_order(&cands) {
        Shown::One(o) => (o, true, false),
        // Both orders on one document: nothing decides the rest.
        Shown::Both => (region_order(region), false, true),
        // The writer's letterhead, else any address on it.
        Shown::None => match letterhead_order(lines) {
            Some(Some(o)) => (o, true, false),
            Some(None) => (region_order(region), false, true),
            None => match address_order(&whole) {
                Some(o) => (o, true, false),
                None => (region_order(region), region != Region::Ca, true),
            },
        },
    };
    let mut dated = vec![false; lines.len()];
    for c in &cands {
        dated[c.line] = true;
    }
    let mut k_on_line = 0;
    // Each line's table header, found once for all the dates on it.
    let mut headers: Vec<Option<Vec<(DateRole, &'static str)>>> = vec![None; lines.len()];
    // Whether each line is a fax machine's header, found once.
    let mut faxes: Vec<Option<bool>> = vec![None; lines.len()];
    let mut out = Vec::new();
    let mut prev_end: Option<(usize, usize)> = None;
    for c in cands {
        let ((y, m, d), ambiguous, by_region) = match c.kind {
            Kind::Fixed(y, m, d) => ((y, m, d), false, false),
            Kind::Numeric(a, b, y) => match order {
                Order::DayFirst => ((y, b, a), !decided, by_region),
                Order::MonthFirst => ((y, a, b), !decided, by_region),
            },
            // The year is settled once the document's own date is known.
            Kind::NoYear(m, d) => ((NO_YEAR, m, d), false, false),
            Kind::NoYearNumeric(a, b) => match order {
                Order::DayFirst => ((NO_YEAR, b, a), !decided, by_region),
                Order::MonthFirst => ((NO_YEAR, a, b), !decided, by_region),
            },
        };
        let words = &lines[c.line];
        let same_line = prev_end.is_some_and(|(line, _)| line == c.line);
        if !same_line {
            k_on_line = 0;
        }
        // The label: the words since the previous date on the line, six at most (none
        // for the second date of a word holding two).
        let mut line_from = prev_end
            .filter(|(line, _)| *line == c.line)
            .map_or(0, |(_, end)| end)
            .min(c.words.start);
        // ("Fitted: 19/01/2026 10:32   Removed: 20/01/2026": the previous date's time is
        // its own, no part of this one's label.)
        if same_line {
            while line_from < c.words.start && time_like(words[line_from]) {
                line_from += 1;
            }
        }
        let from = line_from.max(c.words.start.saturating_sub(LABEL_WORDS));
        // "Intervention : Coronarographie et ICP de l'IVA moyenne le 5 mars 2026": a
        // short label opening the line, with its colon, reaches past the eight words.
        // ("Prochaine dose / Next dose : Encéphalite japonaise / JE #2 — 02/04/2026": a
        // label in two languages.)
        let reach = c.words.start.min(line_from + 6);
        let from = if from > line_from
            && c.words.start - line_from <= LABEL_WORDS + 6
            && words[line_from..reach].iter().any(|w| w.ends_with(':'))
        {
            line_from
        } else {
            from
        };
        let mut before = words[from..c.words.start].join(" ");
        if let Some(label) = &c.glued {
            before = format!("{before} {label}").trim_start().to_string();
        }
        // "I saw her in the office on" / "Monday, Feb 23": the weekday says nothing of
        // the date's role.
        let weekday_only = words[from..c.words.start]
            .iter()
            .all(|w| is_weekday(w) || w.eq_ignore_ascii_case("the"));
        let prev_line = c.line.checked_sub(1).map(|k| &lines[k]);
        // The words before the date on its own line, before any carried over.
        let own_before = before.clone();
        // "the last on" / "20/01/2026": a sentence, and its label, carried over.
        if (before.trim().is_empty() || weekday_only)
            && let Some(prev) = prev_line
            && prev
                .last()
                .is_some_and(|w| LABEL_CARRIES.contains(&w.to_lowercase().as_str()))
        {
            before = trailing_words(prev, LABEL_WORDS).join(" ");
        } else if before.trim().is_empty()
            && let Some(prev) = prev_line
            && c.line.checked_sub(1).is_some_and(|k| dated[k])
            && prev.last().is_some_and(|w| w.ends_with(':'))
            && let label = trailing_words(prev, 4).join(" ")
            && label_role(&label).is_some()
        {
            // "Dictated: 23/01/2026   Typed: 28/01/2026   Clinic date:" / "20/01/2026": a
            // label ending the line above, its date opening the next.
            before = label;
        } else if from == 0
            && before
                .split_whitespace()
                .next()
                .is_some_and(|w| LABEL_CARRIES.contains(&w))
            && label_role(&before).is_none()
            && let Some(start) = sentence_over_fields(lines, c.line, &dated)
        {
            // "I certify that I examined" / "Name: ...  DOB: ..." / "Address: ..." / "on
            // 02/03/2026 and that ...": a certificate's sentence, with the patient's fields
            // filled in between.
            before = format!("{} {before}", trailing_words(&lines[start], 3).join(" "));
        } else if from == 0
            && before.chars().next().is_some_and(char::is_lowercase)
            && label_role(&before).is_none()
            // (Not one that ends before the date: "whom I visited at home" / "today. She
            // had a fall on Sunday 12/10/2025".)
            && !before.contains(". ")
            && let Some(prev) =
                prev_line.filter(|_| !c.line.checked_sub(1).is_some_and(|k| dated[k]))
            && prev
                .last()
                .is_some_and(|w| w.chars().last().is_some_and(char::is_alphabetic))
        {
            // "whom I saw in" / "surgery on the 4th of March": a sentence that began on
            // the line above.
            before = format!("{} {before}", trailing_words(prev, 3).join(" "));
        }
        // "Date of con-" / "sult: 2/27/26": a label broken over two lines.
        if from == 0
            && let Some(prev) = c.line.checked_sub(1).map(|k| &lines[k])
            && let Some(last) = prev.last()
            && let Some(stem) = last.strip_suffix('-')
            && stem.chars().last().is_some_and(char::is_alphabetic)
            && before.chars().next().is_some_and(char::is_lowercase)
        {
            let head = trailing_words(&prev[..prev.len() - 1], 3);
            before = format!("{} {stem}{before}", head.join(" "));
        }
        // "Admit Date: 01/04/2026 22:37   Dis" / "charge Date: 01/09/2026": a label's word
        // broken over two lines without a hyphen.
        if from == 0
            && own_before.chars().next().is_some_and(char::is_lowercase)
            && let Some(prev) = c.line.checked_sub(1).map(|k| &lines[k])
            && let Some(last) = prev.last()
            && last.chars().all(char::is_alphabetic)
            && let Some(first) = own_before.split_whitespace().next()
        {
            // ("Dischar" / "ged: 04/03/2026": the word without its colon.)
            let first = first.trim_end_matches(|ch: char| !ch.is_alphabetic());
            let word = format!("{last}{first}").to_lowercase();
            let joined = format!("{last}{own_before}");
            // ("Date of Dis" / "charge: 06-May-2012": with the label's words before it.)
            let head = trailing_words(&prev[..prev.len() - 1], 3).join(" ");
            let longer = format!("{head} {joined}");
            if label_role(&longer)
                .is_some_and(|(_, l)| l.contains(word.as_str()) && l.len() > word.len())
            {
                before = longer;
            } else if label_role(&joined).is_some_and(|(_, l)| l.contains(word.as_str())) {
                before = joined;
            }
        }
        // "Admit Date: 14-Jan-2026   Discharge" / "Date: 19-Jan-2026", "Date of" /
        // "Discharge: 19/01/2026": a label broken over two lines.
        // (Not a heading over a plain "Date:": "Outpatient Clinic Letter" / "Date:
        // 03/08/2018".)
        if from == 0
            && !before.trim().is_empty()
            && let Some(k) = c.line.checked_sub(1)
            && let prev = &lines[k]
            && let Some(last) = prev.last()
            && last.chars().all(char::is_alphabetic)
            && ((dated[k]
                && trailing_words(prev, 3).len() <= 2
                && before.trim_start().to_lowercase().starts_with("date"))
                || last.eq_ignore_ascii_case("of")
                || (prev.len() == 1 && before.trim_start().to_lowercase().starts_with("date")))
        {
            let joined = format!("{} {before}", trailing_words(prev, 2).join(" "));
            // ("Admission" / "Date: 12/02/2025": the word alone on the line above is the
            // label's, not a heading's: "Outpatient Clinic Letter" / "Date:".)
            let whole_label = format!("{} date", last.to_lowercase());
            let single = !dated[k] && prev.len() == 1 && !last.eq_ignore_ascii_case("of");
            if label_role(&joined)
                .is_some_and(|(_, l)| l != "date" && (!single || l.contains(&whole_label)))
            {
                before = joined;
            }
        }
        prev_end = Some((c.line, c.words.end));
        // "Fri 6 Mar 2026 at 09:10" is as bare as "06/03/2026 09:10".
        let bare = before
            .split_whitespace()
            .all(|w| is_weekday(w) || w.eq_ignore_ascii_case("the"));
        let alone = !same_line
            && bare
            && words[c.words.end..].iter().all(|w| {
                w.chars().all(|ch| !ch.is_alphanumeric())
                    || time_like(w)
                    || w.eq_ignore_ascii_case("at")
            });
        // The second date of a range takes the first's role ("between 03/08/2026 and
        // 07/08/2026", "from 06/01/2025 to 12/31/2025").
        // A row of dates after one label ("Collected   09/15/2025   12/08/2025
        // 02/27/2026"): each takes the label's role (never a birth's).
        let nothing_between = before.split_whitespace().all(time_like);
        let range = same_line
            .then(|| out.last())
            .flatten()
            .filter(|p: &&FoundDate| {
                // ("From: 02/21/2026  To: 04/21/2026")
                CONNECTORS.contains(&before.trim().trim_end_matches(':').to_lowercase().as_str())
                    || (nothing_between && p.role != DateRole::Birth && p.line == c.line && {
                        // The label is the row's own, before its first date (not a
                        // column's: "A6120947  03/02/2026 19:55  03/03/2026 01:20").
                        let own: Vec<&str> = words[..p.words.start]
                            .iter()
                            .take_while(|w| !w.chars().any(|ch| ch.is_ascii_digit()))
                            .copied()
                            .collect();
                        let rest = &words[own.len()..c.words.start];
                        !own.is_empty()
                            && rest.iter().all(|w| numeric(w).is_some() || time_like(w))
                            && label_role(&own.join(" ")).is_some()
                    })
            })
            .map(|p: &FoundDate| (p.role, p.rank, p.guessed, p.label));
        if let Some((role, rank, guessed, label)) = range {
            // "Valid from 01/07/2025 to 30/06/2026": the end of a coverage is its expiry.
            // "Excused 01/07/2023 through 01/09/2023", "Off work 03/02/2026 - 05/02/2026":
            // the end of an absence is to come.
            let absence = words[..c.words.start].iter().any(|w| {
                let w = w
                    .trim_matches(|ch: char| !ch.is_alphanumeric())
                    .to_lowercase();
                ABSENCE.contains(&w.as_str())
            });
            let role = match label {
                Some(l) if role == DateRole::Other && COVERAGE.contains(&l) => DateRole::Due,
                _ if absence && role == DateRole::Service => DateRole::Due,
                _ => role,
            };
            let mut found = found_date(c, (y, m, d), ambiguous, by_region);
            (found.role, found.rank, found.guessed, found.label) = (role, rank, guessed, label);
            out.push(found);
            k_on_line += 1;
            continue;
        }
        // A row's "2nd dose 01/12/2025" under "Next due": the column says more than the
        // dose's name.
        let mut labelled = label_role(&before);
        // "I reviewed Seán at the end of his radiotherapy on Tuesday 24th February": a
        // visit told in a sentence longer than a label.
        // ("whom I met for three assessment sessions" / "on 9 January, ...": a sentence
        // begun on the line above.)
        if labelled.is_none() && {
            let own = &words[line_from..c.words.start];
            match c.line.checked_sub(1) {
                Some(k) if line_from == 0 => {
                    let joined: Vec<&str> = lines[k].iter().chain(own).copied().collect();
                    seen_in_sentence(&joined)
                }
                _ => seen_in_sentence(own),
            }
        } {
            labelled = Some((DateRole::Service, "seen"));
        }
        // "on 9 January, 23 January and 6 February 2026": a list's dates share the
        // first one's visit or plan.
        if labelled.is_none()
            && same_line
            && if before.trim().is_empty() {
                // (The comma on the previous date's last word.)
                c.words.start > 0 && words[c.words.start - 1].ends_with(',')
            } else {
                before
                    .split_whitespace()
                    .all(|w| matches!(w, "," | "and" | "&" | "or"))
            }
            && let Some(prev) = out.last().filter(|p| p.line == c.line)
            && matches!(prev.role, DateRole::Service | DateRole::Due)
            && let Some(label) = prev.label
        {
            labelled = Some((prev.role, label));
        }
        // "SEEN 08 FEB 2019", "[SCANNED 22/03/2021": a stamp on the paper, when it was
        // handled, not what it is about.
        if let Some(stamp) = words[..c.words.start]
            .last()
            .map(|w| w.trim_start_matches('['))
            && STAMPS.contains(&stamp)
        {
            labelled = Some((DateRole::Other, "stamp"));
        }
        // "2026-03-03 11:48  DE/FROM: 819 555 0164 ... P 01/04": a fax machine's header,
        // when the page went through it.
        // (Whatever the sender's name says: "FROM: BEDFORD COMMUNITY CLINIC  902 555 0133
        // 23/01/2026 15:06   P 1/1".)
        if labelled.is_none_or(|(r, _)| r != DateRole::Birth)
            && *faxes[c.line].get_or_insert_with(|| fax_header(words))
        {
            labelled = Some((DateRole::Other, "fax"));
        }
        let own_label = labelled.is_some();
        // A row's month and year alone ("GSK  7Z93K  08/2027  0.5 mL ... 03/18/2026")
        // fill a column of dates of their own (a lot's "Exp").
        let k_col = k_on_line
            + words[line_from..c.words.start]
                .iter()
                .filter(|w| month_year(w))
                .count();
        if same_line && labelled.is_some_and(|(_, l)| l == "dose") && !before.contains(':') {
            labelled = column(&mut headers, lines, c.line, &dated, k_col).or(labelled);
        }
        let labelled = labelled
            .or_else(|| alone.then(|| label_above(lines, c.line, &dated)).flatten())
            .or_else(|| {
                // A row of a table has no label of its own ("Previous operations (with
                // dates): Laparoscopy 14/03/2019" is no row).
                if alone || before.contains(':') {
                    return None;
                }
                column(&mut headers, lines, c.line, &dated, k_col)
            })
            .or_else(|| {
                // A date opening its line, under a short label of its own ("Consultation
                // start" above "12/04/2026 22:05  Base: ...").
                let above = c.line.checked_sub(1).filter(|&k| !dated[k])?;
                let text = capped_join(&lines[above], 300);
                let role = (before.trim().is_empty() && !alone)
                    .then(|| label_role(&text))
                    .flatten();
                // (Or a card's "5 Date of birth   6 Personal identification number" over
                // "02/11/1988   QX 48 21 77 C": a birth's label, however long the line.)
                role.filter(|(r, _)| {
                    text.trim_end().ends_with(':')
                        || lines[above].len() <= 4
                        || *r == DateRole::Birth
                })
            });
        // "Your sleep study has been booked for:" / "Date: 09/03/2026": a plain "Date:"
        // under a heading that says it is to come.
        let labelled = match labelled {
            // ("Your appointment:" / "Clinic: Oncology" / "Date: 09/04/2026")
            Some((DateRole::Issued, "date")) if from == 0 || before.trim_start().len() <= 6 => {
                // ("Your appointment has been booked:" / "Clinic: Audiology" / "Location:
                // Level 2," / "Colney Lane, Norwich" / "Date: Monday 2 March 2026")
                (c.line.saturating_sub(5)..c.line)
                    .rev()
                    .take_while(|&k| !dated[k])
                    .map(|k| capped_join(&lines[k], 300))
                    .find(|above| above.trim_end().ends_with(':'))
                    .and_then(|above| label_role(&above))
                    .filter(|(r, _)| *r == DateRole::Due)
                    .or(labelled)
            }
            _ => labelled,
        };
        // "Noticed by wife over 3 months. Seen in clinic" / "01/22/2026 - dermoscopy": a
        // sentence that ends on the line above a date opening its line.
        let labelled = labelled.or_else(|| {
            let above = c.line.checked_sub(1).filter(|&k| !dated[k])?;
            let prev = &lines[above];
            let last = prev.last()?;
            if !before.trim().is_empty()
                || alone
                || prev.len() <= 4
                || !last.chars().last().is_some_and(char::is_alphabetic)
            {
                return None;
            }
            // A sentence: its last words in lower case.
            let lowercase = prev
                .iter()
                .rev()
                .take(LABEL_WORDS)
                .filter(|w| w.chars().next().is_some_and(char::is_lowercase))
                .count();
            if lowercase < 3 {
                return None;
            }
            let text = capped_join(prev, 300);
            let sentence = text.rsplit(['.', ':', ';']).next().unwrap_or(&text);
            label_role(sentence)
        });
        // What follows the date on its line, when nothing before it labels it: "4  21
        // 02/03/2026  -- due --" (a dose to come), "02/03/2026  Dr Ronan Kiely  Surgery
        // consultation" (a visit in a record's history).
        let labelled = if own_label {
            labelled
        } else {
            // ("23-Sep-2025 08:52  Telephone encounter": past the time.)
            let after: Vec<String> = words[c.words.end..]
                .iter()
                .skip_while(|w| time_like(w))
                .take(6)
                .take_while(|w| w.chars().filter(char::is_ascii_digit).nth(3).is_none())
                .map(|w| {
                    w.trim_matches(|ch: char| !ch.is_alphanumeric())
                        .to_lowercase()
                })
                .collect();
            let after: Vec<&str> = after.iter().map(String::as_str).collect();
            let visit = (before.trim().is_empty() && !alone)
                .then(|| role_of(&after.join(" ")))
                .flatten()
                .filter(|(r, _)| *r == DateRole::Service);
            // "01/20/2026  Payment - Aetna": money moved, under the visits' column.
            // ("02/28/2026  Patient payment - thank you")
            let payment = after.iter().take(2).any(|w| PAYMENTS.contains(w));
            match labelled {
                // A column or a label above may say more, but not against "due" in the row.
                Some((DateRole::Birth, _)) => labelled,
                _ if says_due(&after) => Some((DateRole::Due, "due")),
                _ if payment => Some((DateRole::Other, "payment")),
                None => visit,
                Some(_) => labelled,
            }
        };
        k_on_line += 1;
        // A date opening a line with its time ("11/03/2026 10:20  Dr. Maeve Hanratty").
        let opens_line = bare && words.get(c.words.end).is_some_and(|w| time_like(w));
        let weekday = c
            .words
            .start
            .checked_sub(1)
            .is_some_and(|k| is_weekday(words[k]));
        let role = labelled.map_or(
            if (alone || opens_line) && c.line < 12 {
                DateRole::Issued
            } else {
                DateRole::Other
            },
            |(r, _)| r,
        );
        let mut found = found_date(c, (y, m, d), ambiguous, by_region);
        found.role = role;
        found.rank = rank_of(labelled.map(|(_, l)| l));
        found.guessed = labelled.is_none() && role == DateRole::Issued;
        found.label = labelled.map(|(_, l)| l);
        found.weekday = weekday;
        // The first date on a line naming the patient ("Re: Declan Madeup, 04/04/1957").
        let names_patient = words.first().is_some_and(|w| {
            let w = w.trim_end_matches(':').to_lowercase();
            IDENTITY.contains(&w.as_str())
        });
        if labelled.is_none() && k_on_line == 1 && names_patient && !alone {
            found.label = Some(IDENTITY_LABEL);
        }
        out.push(found);
    }
    let mut out = with_years(out);
    settle(&mut out);
    to_come(&mut out);
    out
}

/// The year a date written without one is read in until the document's date is known.
const NO_YEAR: i32 = 0;

/// Dates written without a year take the one that puts them nearest the document's own
/// date (its latest issue date, else its latest service date, else its latest date that is
/// not a birth): "seen on 17 January" in a letter of March 2026 is 2026's, "on 28
/// December" in one of January 2026 is 2025's. With no such date they cannot be dated
/// and are left out.
fn with_years(dates: Vec<FoundDate>) -> Vec<FoundDate> {
    let year_of_date = |d: &FoundDate| d.date.get(..4).and_then(|y| y.parse::<i32>().ok());
    let dated = |d: &FoundDate| year_of_date(d).is_some_and(|y| y != NO_YEAR);
    let anchor = latest_date(&dates, |d| dated(d) && d.role == DateRole::Issued)
        .or_else(|| latest_date(&dates, |d| dated(d) && d.role == DateRole::Service))
        .or_else(|| latest_date(&dates, |d| dated(d) && d.role != DateRole::Birth));
    let day_number = |y: i32, m: u32, d: u32| i64::from(y) * 372 + i64::from(m) * 31 + i64::from(d);
    let parts = |s: &str| -> Option<(i32, u32, u32)> {
        let mut it = s.splitn(3, '-');
        Some((
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
        ))
    };
    let anchor = anchor.as_deref().and_then(parts);
    dates
        .into_iter()
        .filter_map(|mut d| {
            if dated(&d) {
                return Some(d);
            }
            let (ay, am, ad) = anchor?;
            let (_, m, day) = parts(&d.date)?;
            let target = day_number(ay, am, ad);
            let y = [ay - 1, ay, ay + 1]
                .into_iter()
                .filter(|&y| valid(y, m, day).is_some())
                .min_by_key(|&y| (day_number(y, m, day) - target).abs())?;
            d.date = format!("{y:04}-{m:02}-{day:02}");
            Some(d)
        })
        .collect()
}

/// Labels of a record's field naming its visit or call.
const VISIT_FIELDS: &[&str] = &[
    "call date",
    "call date/time",
    "date of call",
    "date of visit",
    "visit date",
    "date of service",
    "date of contact",
    "contact date",
    "date of encounter",
    "encounter date",
];

/// Labels of the end of a stay, or of an examination held, which no letter's date puts in
/// the future.
const STAY_ENDS: &[&str] = &[
    "date of discharge",
    "discharge date",
    "discharged",
    "date discharged",
    "discharged home",
    "date of examination",
    "date of exam",
    "examination date",
];

/// Labels of an appointment that, dated before the letter, took place ("Hearing aid
/// fitting - appointment 1 May 2025" in a letter of 7 May; "Rendez-vous du 25 février").
pub(crate) const APPOINTMENT: &[&str] = &["appointment", "appt", "rendez-vous"];

/// A visit dated after the document was issued is one to come ("Fracture clinic:
/// 28/04/2026" in a letter typed in March), and so is a date written with its weekday
/// after the letter's own date ("Date: Tuesday 17 March 2026" in a letter of February).
fn to_come(dates: &mut [FoundDate]) {
    let issued = |weekday: bool| {
        latest_date(dates, |d| {
            d.role == DateRole::Issued && (weekday || !d.weekday)
        })
    };
    let (plain, any) = (issued(false), issued(true));
    if let Some(written) = &plain {
        for d in dates.iter_mut() {
            let appointment = d.label.is_some_and(|l| APPOINTMENT.contains(&l));
            if d.role == DateRole::Due && appointment && d.date < *written {
                d.role = DateRole::Service;
            }
        }
    }
    // A report's own date when nothing else is issued: its reporting ("Authorised by:
    // ... 20.02.2026" before "counselling clinic 14.04.2026").
    let reported = latest_date(dates, |d| d.role == DateRole::Service && d.rank == 0);
    if let Some(issued) = plain.clone().or(any).or(reported) {
        for d in dates.iter_mut() {
            // ("Date of discharge: 08/03/2026" after "NIPE completed 07/03/26": a stay's
            // end, not a visit to come.)
            // ("Applicant declaration signed: 10/02/2026" / "Date of examination:
            // 11/02/2026": a form's field naming its event.)
            let field = d.label.is_some_and(|l| STAY_ENDS.contains(&l));
            // (Nor a visit's own field a year after an old paper's date: "HIPAA
            // authorization on file, signed 03/11/2024" does not make "Call date/time:
            // 06/17/2025" one to come.)
            let old_paper = d.label.is_some_and(|l| VISIT_FIELDS.contains(&l))
                && days_apart(&issued, &d.date).is_some_and(|n| n > 366);
            if d.role == DateRole::Service && d.rank == 2 && d.date > issued && !old_paper && !field
            {
                d.role = DateRole::Due;
            }
        }
    }
    if let Some(written) = plain {
        for d in dates.iter_mut() {
            let event = d.role == DateRole::Service && d.label.is_some();
            if d.weekday && d.role != DateRole::Birth && !event && d.date > written {
                d.role = DateRole::Due;
            }
        }
    }
}

/// Days from `a` to `b` (both `YYYY-MM-DD`), negative when `b` is earlier.
pub(crate) fn days_apart(a: &str, b: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = |s: &str| time::Date::parse(s, &format).ok();
    Some((day(b)? - day(a)?).whole_days())
}

pub(crate) fn is_weekday(word: &str) -> bool {
    let w = word
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        // Irish ("Dé Máirt, 24 Márta 2026")
        "luain",
        "máirt",
        "céadaoin",
        "déardaoin",
        "aoine",
        "sathairn",
        "domhnaigh",
    ]
    .contains(&w.as_str())
}

fn found_date(
    c: Candidate,
    (y, m, d): (i32, u32, u32),
    ambiguous: bool,
    by_region: bool,
) -> FoundDate {
    FoundDate {
        role: DateRole::Other,
        date: format!("{y:04}-{m:02}-{d:02}"),
        text: c.text,
        ambiguous,
        by_region,
        line: c.line,
        words: c.words,
        rank: 2,
        guessed: false,
        label: None,
        weekday: false,
    }
}

/// Labels of when a coverage or a validity starts.
const COVERAGE: &[&str] = &[
    "valid",
    "eff",
    "eff. date",
    "eff date",
    "valid from",
    "cover valid from",
    "effective",
    "effective date",
    "coverage start",
];

/// Stamps put on paper as it is handled, in capitals.
const STAMPS: &[&str] = &["SEEN", "SCANNED", "FILED", "ACTIONED", "ENTERED"];

/// Words of an absence from work or school, whose range ends in the future.
const ABSENCE: &[&str] = &[
    "excused",
    "excuse",
    "off",
    "unfit",
    "absence",
    "absent",
    "sick",
    "leave",
    // ("Certification Period From: 02/21/2026 To: 04/21/2026": a plan's period to come.)
    "certification",
];

/// Words between the two dates of a range.
const CONNECTORS: &[&str] = &["and", "to", "-", "–", "—", "through", "thru", "&", "or"];

/// A time of day after a date ("09:20", "16.45", "9:30 AM", "(14:05)").
pub(crate) fn time_like(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let lower = w.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "am" | "pm" | "hrs" | "h" | "utc" | "gmt" | "ist"
    ) {
        return true;
    }
    let w = lower.trim_end_matches("am").trim_end_matches("pm");
    let mut parts = w.split([':', '.']);
    let (Some(h), Some(m)) = (parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    digits(h) && m.len() == 2 && digits(m) && parts.all(digits)
}

fn region_order(region: Region) -> Order {
    match region {
        Region::Ie | Region::Uk | Region::Ca => Order::DayFirst,
        Region::Us => Order::MonthFirst,
    }
}

/// A month and a year alone, as a lot's expiry is written: "08/2027", "2027-08".
fn month_year(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let Some((a, b)) = w.split_once(['/', '-']) else {
        return false;
    };
    let (month, year) = if a.len() == 4 { (b, a) } else { (a, b) };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (1..=2).contains(&month.len())
        && year.len() == 4
        && digits(month)
        && digits(year)
        && month.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

/// Whether the words before a date (on its line) are a sentence telling of a visit held
/// on it: "I" or "we" and a verb of seeing, then "on" (a weekday after it) right before
/// the date, within fourteen words and one sentence, and nothing putting it in the future.
fn seen_in_sentence(before: &[&str]) -> bool {
    // Only words right before the date can make it one: "on", a weekday after it.
    let mut end = before.len();
    if end > 0 && is_weekday(before[end - 1]) {
        end -= 1;
    }
    if end == 0 || !before[end - 1].eq_ignore_ascii_case("on") {
        return false;
    }
    let window = &before[end.saturating_sub(14)..end - 1];
    // The sentence: after the last word ending one.
    let start = window
        .iter()
        .rposition(|w| w.ends_with('.') || w.ends_with(';'))
        .map_or(0, |k| k + 1);
    let sentence: Vec<String> = window[start..].iter().map(|w| w.to_lowercase()).collect();
    let seen = sentence.windows(2).rposition(|pair| {
        matches!(pair[0].as_str(), "i" | "we")
            && matches!(
                pair[1].as_str(),
                "reviewed" | "saw" | "assessed" | "examined" | "met" | "visited"
            )
    });
    // What is to come is said after the visit ("I saw him and will review him on"); a
    // request before it is no matter ("grateful if you would see Cian, whom I saw with
    // his mother on 5th January").
    seen.is_some_and(|k| {
        !sentence[k + 2..].iter().any(|w| {
            matches!(
                w.as_str(),
                "will" | "next" | "plan" | "please" | "arrange" | "shall" | "would"
            )
        })
    })
}

/// A label on the lines above a date alone on its line: the nearest of the three above
/// without a date of their own, when it is a short label with a role ("Collected" above
/// "04/27/2026 18:10"); else a birth label on any of them ("Date of birth:" over "MRN:"
/// in a form read column by column).
fn label_above(
    lines: &[Vec<&str>],
    line: usize,
    dated: &[bool],
) -> Option<(DateRole, &'static str)> {
    let above: Vec<usize> = (line.saturating_sub(3)..line)
        .rev()
        .filter(|&k| !dated[k])
        .collect();
    let roles: Vec<Option<(DateRole, &'static str)>> = above
        .iter()
        .map(|&k| label_role(&capped_join(&lines[k], 300)))
        .collect();
    let nearest = above.first().and_then(|&nearest| {
        let text = capped_join(&lines[nearest], 300);
        (text.trim_end().ends_with(':') || text.split_whitespace().count() <= 4)
            .then(|| roles.first().copied().flatten())
            .flatten()
    });
    // "Dr. Ellison is out of the office on Tuesday, February 24. Your skin check has been
    // moved to:" / "" / "Monday, March 2, 2026 at 2:40 PM": the sentence ending the
    // nearest line above, though that line has a date of its own.
    let sentence_above = || {
        let k = (line.saturating_sub(3)..line)
            .rev()
            .find(|&k| !lines[k].is_empty())?;
        let text = capped_join(&lines[k], 300);
        let text = text.trim_end();
        if !dated[k] || !text.ends_with(':') {
            return None;
        }
        let sentence = text.rsplit(['.', ';']).next().unwrap_or(text);
        label_role(sentence).filter(|(r, _)| *r == DateRole::Due)
    };
    nearest
        .or_else(|| {
            roles
                .iter()
                .flatten()
                .find(|(r, _)| *r == DateRole::Birth)
                .copied()
        })
        .or_else(sentence_above)
}

/// The latest of the dates `keep` keeps.
pub(crate) fn latest_date(
    dates: &[FoundDate],
    keep: impl Fn(&FoundDate) -> bool,
) -> Option<String> {
    dates
        .iter()
        .filter(|d| keep(d))
        .map(|d| d.date.clone())
        .max()
}

/// First words of a line naming the patient.
const IDENTITY: &[&str] = &["re", "patient", "pt", "name", "client", "child", "resident"];
/// The label of a date with none beside the patient's name.
const IDENTITY_LABEL: &str = "beside the patient's name";

/// Corrections once every date has a role: a date of birth written with a two-digit year
/// that lands after the document's other dates is a century earlier; a date guessed to be
/// the issue date (unlabelled, near the top) more than ten years before the document's
/// latest date is not its issue date; an unlabelled date beside the patient's name more
/// than twelve years before it is their birth.
fn settle(dates: &mut [FoundDate]) {
    let latest = latest_date(dates, |d| {
        matches!(d.role, DateRole::Service | DateRole::Issued)
    });
    let Some(latest) = latest else {
        return;
    };
    let year_of_date = |d: &str| -> i32 { d.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0) };
    let latest_year = year_of_date(&latest);
    // A letter has one date of its own: a date alone on its line below an issue date is
    // something else ("Stop iron tablets 7 days before" / "(May 5, 2016)").
    let first_issued = dates
        .iter()
        .filter(|d| d.role == DateRole::Issued)
        .map(|d| d.line)
        .min();
    for d in dates.iter_mut() {
        if d.guessed && first_issued.is_some_and(|l| l < d.line) {
            d.role = DateRole::Other;
        }
    }
    for d in dates.iter_mut() {
        let year = year_of_date(&d.date);
        let two_digit = d
            .text
            .rsplit(['/', '.', '-', ' '])
            .next()
            .is_some_and(|y| y.len() == 2);
        if d.role == DateRole::Birth && two_digit && d.date > latest {
            d.date = format!("{:04}{}", year - 100, d.date.get(4..).unwrap_or(""));
        }
        if d.guessed && year + 10 < latest_year {
            d.role = DateRole::Other;
        }
        // Beside the patient's name, long before the document: their birth.
        if d.label == Some(IDENTITY_LABEL) && d.role == DateRole::Other && year + 12 < latest_year {
            d.role = DateRole::Birth;
        }
    }
}

/// The document's date: its latest service date of the most direct kind (the event
/// itself, else the sample's arrival, else the report), else its latest issue date; never a
/// date of birth.
pub fn document_date(dates: &[FoundDate]) -> Option<String> {
    let service = dates.iter().filter(|d| d.role == DateRole::Service);
    let rank = service.clone().map(|d| d.rank).max();
    service
        .filter(|d| Some(d.rank) == rank)
        .map(|d| d.date.clone())
        .max()
        .or_else(|| {
            dates
                .iter()
                .filter(|d| d.role == DateRole::Issued)
                .map(|d| d.date.clone())
                .max()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, region: Region) -> Vec<FoundDate> {
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        find_dates(&lines, region)
    }

    fn roles(found: &[FoundDate]) -> Vec<(DateRole, &str, bool)> {
        found
            .iter()
            .map(|d| (d.role, d.date.as_str(), d.ambiguous))
            .collect()
    }

    fn role_list(text: &str, region: Region) -> Vec<DateRole> {
        read(text, region).iter().map(|d| d.role).collect()
    }

    #[test]
    fn dates_and_labels_broken_over_lines_and_forms() {
        use DateRole::*;
        // A date broken after its month, or before its year; a line ending in a date's
        // first words before an empty one (a date without its year).
        let found = read(
            "I saw Julie in the Endocrinology Clinic on March\n4, 2026 for follow up.\n\
             Letter typed on 9 March\n2026.\nseen on 4 March\n\n",
            Region::Ca,
        );
        assert_eq!(
            roles(&found),
            [
                (Service, "2026-03-04", false),
                (Issued, "2026-03-09", false),
                (Service, "2026-03-04", false)
            ]
        );
        // A certificate's sentence with the patient's fields between.
        assert_eq!(
            role_list(
                "I certify that I examined\nName: Aoife Doyle   DOB: 23/08/1994\n\
                 Address: 18 Maudlintown Road, Wexford\non 02/03/2026 and that she is unfit",
                Region::Ie
            ),
            [Birth, Service]
        );
        // A label broken after a date on its line; a heading over a plain "Date:" is no
        // part of its label.
        assert_eq!(
            role_list(
                "Admit Date: 14-Jan-2026 18:05       Discharge\nDate: 19-Jan-2026 11:30",
                Region::Ca
            ),
            [Service, Service]
        );
        assert_eq!(
            role_list(
                "Outpatient Appointments\nDate: 02/03/2026\nMiss Leah Thornbury",
                Region::Uk
            ),
            [Issued]
        );
        // A message's time stamp alone on its line, its weekday before it.
        assert_eq!(
            role_list(
                "Text Message\nFri 6 Mar 2026 at 09:10\nReminder",
                Region::Uk
            ),
            [Issued]
        );
    }

    #[test]
    fn dates_as_old_scans_write_them() {
        use DateRole::*;
        // A label written onto its date, OCR letters for digits in both.
        let found = read(
            "Name:KEHOE, Margaret DOB:l4/06/l929 MRN:W0l44821\nDate:O9/O9/2015 Theatre:2 Start:14:1O",
            Region::Ie,
        );
        assert_eq!(
            roles(&found),
            [(Birth, "1929-06-14", false), (Issued, "2015-09-09", false)]
        );
        assert_eq!(found[1].text, "09/09/2015");
        assert_eq!(found[1].words, 0..1);
        // A date spread over words around its separators, under its label.
        let found = read(
            "DOB\nO9 / 04 / 1944\nDate of sight test\n23 / 1O / 2017\nSigned 24 /10/2017",
            Region::Uk,
        );
        assert_eq!(
            roles(&found),
            [
                (Birth, "1944-04-09", false),
                (Service, "2017-10-23", false),
                (Issued, "2017-10-24", false)
            ]
        );
        assert_eq!((found[1].line, found[1].words.clone()), (3, 0..5));
        // Nor is a fraction followed by words a date.
        assert!(read("Dose 1 / 2 tablet daily", Region::Uk).is_empty());
        // A Canadian laboratory's year first, the month in words.
        assert_eq!(
            roles(&read(
                "Born: 1986 Oct 02\nCollected: 2023 Jun 14   Received: 2023 Jun 16",
                Region::Ca
            )),
            [
                (Birth, "1986-10-02", false),
                (Service, "2023-06-14", false),
                (Service, "2023-06-16", false)
            ]
        );
    }

    #[test]
    fn any_mix_of_date_pieces_reads_without_panicking() {
        // Pieces that start, end, glue or split dates, mixed at random (a fixed seed):
        // every date found is a real day, its words within its line.
        const PIECES: &[&str] = &[
            "01/21/2025-01/23/2025",
            "03.04.26-05.06.26",
            "1/2-3/4",
            "-",
            "–",
            "/",
            ".",
            ":",
            "Date:O9/O9/2015",
            "DOB:l4/06/l929",
            "Date:",
            "O9",
            "04",
            "1944",
            "2023",
            "Jun",
            "14",
            "31",
            "29/02/2025",
            "7/10",
            "to",
            "on",
            "from",
            "Tuesday",
            "Signed",
            "Paid",
            "Payment",
            "P",
            "01/04",
            "P.1/3",
            "FROM:",
            "Fax",
            "é",
            "Dáta",
            "tugtha/Date",
            "given",
            "Taken",
            "Co1lected:",
            "2026-03-04",
            "14-Mar-2026",
            "March",
            "4th",
            "of",
            "Previous",
            "statement:",
            "Jan",
            "12",
            "'26",
            "Review",
            "Last",
            "issued",
            "Given",
            "by",
            "Dose",
            "Next",
            "due",
            "10:40",
            "2O26",
            "l5",
            "Mar",
            "/ 1O /",
            "12/",
            "/2017",
            "Start",
            "date",
            "TCI",
            "Booked",
            "SEEN",
            "[SCANNED",
            "",
            "0/0/0",
            "99/99/9999",
            "1/1/1",
            "31/12/1899",
            "2100-12-31",
            "Deireadh",
            "Fómhair",
            "examined",
            "Name:",
            "May",
            "4,",
            "Discharge",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        };
        for round in 0..3_000 {
            let text: String = (0..1 + next(6))
                .map(|_| {
                    (0..next(12))
                        .map(|_| PIECES[next(PIECES.len())])
                        .collect::<Vec<_>>()
                        .join(if next(5) == 0 { "" } else { " " })
                })
                .collect::<Vec<_>>()
                .join("\n");
            let region = [Region::Ie, Region::Uk, Region::Us, Region::Ca][round % 4];
            let lines: Vec<Vec<&str>> = text
                .lines()
                .map(|l| l.split_whitespace().collect())
                .collect();
            for d in find_dates(&lines, region) {
                let ymd: Vec<u32> = d.date.split('-').filter_map(|p| p.parse().ok()).collect();
                assert!(
                    ymd.len() == 3
                        && ymd[0] >= 1900
                        && valid(ymd[0] as i32, ymd[1], ymd[2]).is_some(),
                    "{text:?}: {d:?}"
                );
                assert!(d.words.end <= lines[d.line].len(), "{text:?}: {d:?}");
                assert!(!d.text.is_empty(), "{text:?}: {d:?}");
            }
        }
    }

    #[test]
    fn a_fax_header_a_statement_s_payments_and_an_irish_column() {
        use DateRole::*;
        // The fax machine's line is when the page went through it.
        assert_eq!(
            role_list(
                "2026-03-03 11:48   DE/FROM: 819 555 0164   CLINIQUE DU LAC   P 01/04\nDate: 2 mars 2026",
                Region::Ca
            ),
            [Other, Issued]
        );
        assert_eq!(
            role_list(
                "Feb 12 2026 09:14AM  FROM: Lakeside Clinic  FAX 555 0101  P. 2/5",
                Region::Us
            ),
            [Other]
        );
        // A statement's payments under its "Date of Svc" column; its previous statement.
        assert_eq!(
            role_list(
                "Date of Svc   Code   Description   Charges\n12/04/2025  99284  Emergency dept visit  $1,840.00\n\
                 01/20/2026            Payment - Aetna    -$2,720.40\nPrevious statement: Jan 12 '26",
                Region::Us
            ),
            [Service, Other, Other]
        );
        // "Dáta tugtha/Date given": a column named in Irish and English.
        assert_eq!(
            role_list(
                "Vaccín / Vaccine   Dáileog/Dose   Dáta tugtha/Date given   Baisc/Batch\nBCG   1   29/06/1994   BC0412",
                Region::Ie
            ),
            [Service]
        );
        // OCR's 1 for an l in a label; a referral's creation; a reply asked by a date.
        assert_eq!(
            role_list(
                "Co1lected: 23/02/2026 09:40   Received: 24/02/2026",
                Region::Ie
            ),
            [Service, Service]
        );
        assert_eq!(
            role_list("Referral created: 12 Jan 2026 10:41", Region::Ie),
            [Issued]
        );
        assert_eq!(
            role_list(
                "If you cannot attend, please tell us by 10/03/2026.",
                Region::Ie
            ),
            [Due]
        );
        assert_eq!(role_list("Taken : 02/09/2025 10:40", Region::Uk), [Service]);
        assert_eq!(read("Co1lected: 23/02/2026", Region::Ie)[0].rank, 2);
        // A range written as one word: both ends, the second taking the first's role.
        let found = read("Admitted 01/21/2025-01/23/2025 for monitoring", Region::Us);
        assert_eq!(
            roles(&found),
            [
                (Service, "2025-01-21", false),
                (Service, "2025-01-23", false)
            ]
        );
        assert_eq!(found[1].text, "01/23/2025");
    }

    #[test]
    fn scores_out_of_ten_payments_and_repeat_slips() {
        use DateRole::*;
        // A pain score is no date, even after "from".
        let found = read(
            "Seen 9th March 2026. Her pain has reduced from 7/10 to 4/10 (NPRS).\nPain rated at 6/10 since Tuesday",
            Region::Ie,
        );
        assert_eq!(roles(&found), [(Service, "2026-03-09", false)]);
        // A payment's date is no visit, though the table's rows above are.
        assert_eq!(
            role_list(
                "Date of service   Description   Fee\n02/20/2024   Initial assessment   $120.00\n\
                 Total   $120.00\nPaid in full - VISA ****4410   03/15/2024",
                Region::Us
            ),
            [Service, Other]
        );
        // A repeat slip's columns: when last issued, when to review.
        assert_eq!(
            role_list(
                "Medication   Last issued   Review\nFurosemide 40mg tabs 1 mane   07/01/2019   06/07/2019",
                Region::Ie
            ),
            [Other, Due]
        );
        // Bloods taken, an assessment's date, a date to come in.
        assert_eq!(
            role_list(
                "Booking bloods taken 24/01/2022\nDate of assessment: 05-Mar-2026\nProvisional TCI date: 16/03/2026",
                Region::Uk
            ),
            [Service, Service, Due]
        );
    }

    #[test]
    fn a_date_of_birth_beside_the_visit_is_never_the_document_date() {
        let found = read(
            "Patient: Ruth Imaginary DOB 03/04/1961 Seen 05/06/2026",
            Region::Ie,
        );
        assert_eq!(
            roles(&found),
            [
                (DateRole::Birth, "1961-04-03", false),
                (DateRole::Service, "2026-06-05", false)
            ]
        );
        assert_eq!(document_date(&found).as_deref(), Some("2026-06-05"));
        // Only a date of birth: no document date.
        assert_eq!(document_date(&read("DOB: 03/04/1961", Region::Ie)), None);
    }

    #[test]
    fn the_same_digits_mean_different_days_in_dublin_and_boston() {
        let text = "Date of visit: 03/04/2026";
        assert_eq!(read(text, Region::Ie)[0].date, "2026-04-03");
        assert_eq!(read(text, Region::Us)[0].date, "2026-03-04");
        // A Canadian patient's, with nothing on it to decide: flagged.
        let ca = read(text, Region::Ca);
        assert!(ca[0].ambiguous);
        // The document decides before the region: a day over 12 elsewhere on it, or an
        // address.
        let us_letter = "Fictional Clinic, Boston, MA 02115\nDate of visit: 03/04/2026";
        assert_eq!(read(us_letter, Region::Ie)[0].date, "2026-03-04");
        let shown = "Collected 03/04/2026\nReported 03/17/2026";
        assert_eq!(read(shown, Region::Ie)[0].date, "2026-03-04");
        assert!(!read(shown, Region::Ca)[0].ambiguous);
    }

    #[test]
    fn dates_written_in_words_and_labels_in_other_scripts() {
        let found = read(
            "Überweisung vom 14 March 2026\nReview on March 20, 2026\nÄrztin: 2026-03-01 ✓ été",
            Region::Us,
        );
        let dates: Vec<&str> = found.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-14", "2026-03-20", "2026-03-01"]);
        assert_eq!(found[1].role, DateRole::Due);
        // Not dates: versions, ranges, impossible days.
        assert!(
            read(
                "v1.2.3 range 4.0-11.0 31/02/2026 99/99/9999 13/13/2026",
                Region::Ie
            )
            .is_empty()
        );
    }

    #[test]
    fn labels_that_mislead_and_numbers_that_are_not_dates() {
        let doc = |t: &str, r| {
            let found = read(t, r);
            (
                roles(&found)
                    .iter()
                    .map(|(r, d, _)| (*r, d.to_string()))
                    .collect::<Vec<_>>(),
                document_date(&found),
            )
        };
        // The nearest clause labels a date; a DOB with nothing after it labels nothing.
        let (found, date) = doc("DOB: N/A, Date of visit: 05/06/2026", Region::Ie);
        assert_eq!(found, [(DateRole::Service, "2026-06-05".to_string())]);
        assert_eq!(date.as_deref(), Some("2026-06-05"));
        // "due to" is not a due date.
        assert_eq!(
            doc("Admitted due to a fall on 05/06/2026", Region::Ie).0[0].0,
            DateRole::Service
        );
        assert_eq!(doc("Due: 05/06/2026", Region::Ie).0[0].0, DateRole::Due);
        // A date of birth in a form read column by column, and one under a long label.
        for text in [
            "Date of birth:\nMRN:\n03/04/1961",
            "Jane Madeup Date of Birth\n03/04/1961",
        ] {
            let (found, date) = doc(text, Region::Ie);
            assert_eq!(found[0].0, DateRole::Birth, "{text}");
            assert_eq!(date, None, "{text}");
        }
        // The line above with its own date labels nothing below it.
        let (found, _) = doc("DOB: 03/04/1961\n05/06/2026", Region::Ie);
        assert_eq!(found[1].0, DateRole::Issued);
        // A two-digit year of birth after the document's dates is a century earlier.
        let (found, _) = doc("DOB 12/05/35 Seen 01/02/2026", Region::Ie);
        assert_eq!(found[0].1, "1935-05-12");
        // Times, versions, doses and signs are not dates, and decide nothing.
        let (found, _) = doc(
            "Collected 03/04/2026 13.05.10 Software 13.2.24 insulin 10-10-12 units 14 March -1",
            Region::Us,
        );
        assert_eq!(found, [(DateRole::Service, "2026-03-04".to_string())]);
        // "Patient ID 48213" is not Idaho; "Boston, MA 02115" is Massachusetts.
        assert_eq!(
            read("Patient ID 48213\nSeen 03/04/2026", Region::Ie)[0].date,
            "2026-04-03"
        );
        assert_eq!(
            read("Clinic, Boston, MA 02115\nSeen 03/04/2026", Region::Ie)[0].date,
            "2026-03-04"
        );
        // Both orders on one document: the rest is ambiguous.
        let found = read(
            "Seen 13/01/2026\nReview 01/14/2026\nDated 03/04/2026",
            Region::Ie,
        );
        assert!(found[2].ambiguous);
    }

    #[test]
    fn labels_as_clinics_abbreviate_them_and_tables_far_below_their_header() {
        let doc = |t: &str, r| {
            let found = read(t, r);
            let roles: Vec<(DateRole, String)> =
                found.iter().map(|d| (d.role, d.date.clone())).collect();
            (roles, document_date(&found))
        };
        use DateRole::*;
        // Abbreviated labels; a time after a date; the sample's collection dates the report.
        let (found, date) = doc(
            "Coll. 04/02/2026 08:40   Rec'd 04/02/2026 11:15   Authorised 05/02/2026",
            Region::Ie,
        );
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            [Service, Service, Service]
        );
        assert_eq!(date.as_deref(), Some("2026-02-04"));
        let (_, date) = doc(
            "Collection date/time\n05/03/2026 09:20\nReported\n06/03/2026 16:45",
            Region::Ie,
        );
        assert_eq!(date.as_deref(), Some("2026-03-05"));
        let (found, date) = doc("Adm: 02-Feb-2026   Disch: 09-Feb-2026", Region::Ie);
        assert_eq!(found[1], (Service, "2026-02-09".to_string()));
        assert_eq!(date.as_deref(), Some("2026-02-09"));
        // A table whose rows run far below its header: each column's role, in order.
        let mut table = String::from("Vaccine   Date   Batch   Next dose\n");
        for day in 1..=9 {
            table.push_str(&format!(
                "Dose {day}   0{day}/04/2025   AB1   0{day}/04/2027\n"
            ));
        }
        let (found, date) = doc(&table, Region::Ie);
        assert_eq!(found[16], (Service, "2025-04-09".to_string()));
        assert_eq!(found[17], (Due, "2027-04-09".to_string()));
        assert_eq!(date.as_deref(), Some("2025-04-09"));
        // A prose line above a date is no header.
        let (found, _) = doc(
            "Discharge medications: prednisolone 30 mg OD reducing by 5 mg every 3 days\nFlying home 23-Mar-2026.",
            Region::Ie,
        );
        assert_eq!(found[0].0, Other);
        // Ranges take the first date's role; a label ending in "due"; a visit under a due
        // label; a visit after the letter was typed is to come.
        let (found, _) = doc(
            "Zoster dose 2 due: between 03/08/2026 and 07/08/2026",
            Region::Us,
        );
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), [Due, Due]);
        let (found, _) = doc("Records dated from 06/01/2025 to 12/31/2025", Region::Us);
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            [Other, Other]
        );
        let (found, date) = doc(
            "Admitted: 16/03/2026 Discharged: 24/03/2026\nNext appointment: Paediatric clinic 11/04/2026\nFracture clinic: 28/04/2026\nTyped: 25/03/2026",
            Region::Uk,
        );
        assert_eq!(found[2].0, Due);
        assert_eq!(found[3].0, Due);
        assert_eq!(date.as_deref(), Some("2026-03-24"));
        // An earlier result quoted, the last period, a coverage's start: not the event.
        let (found, _) = doc("Previous HbA1c: 7.4 % (collected 11/18/2025)", Region::Us);
        assert_eq!(found[0].0, Other);
        assert_eq!(
            doc("Last menstrual period: 3/2/26", Region::Us).0[0].0,
            Other
        );
        assert_eq!(doc("Effective Date: 01/01/2026", Region::Us).1, None);
        assert_eq!(
            doc("ISS/DÉL 2021-04-11     EXP/EXP 2026-04-11", Region::Ca).0,
            [
                (Issued, "2021-04-11".to_string()),
                (Due, "2026-04-11".to_string())
            ]
        );
        // A date beside the patient's name long before the visit is their birth.
        let (found, date) = doc(
            "Clinic: 20/08/2026\nRe: Declan Madeup, 04/04/1957\nRe: Declan Madeup, 04/04/2026",
            Region::Ie,
        );
        assert_eq!(found[1].0, Birth);
        assert_eq!(found[2].0, Other);
        assert_eq!(date.as_deref(), Some("2026-08-20"));
    }

    #[test]
    fn french_and_irish_months_and_appointments_written_with_their_weekday() {
        let found = read(
            "Date de naissance : 27 avril 1958\nDate prévue de l'intervention : 2 avril 2026\nExamen physique le 1er décembre 2025\nDáta: 3 Márta 2026",
            Region::Ca,
        );
        let roles: Vec<(DateRole, &str)> =
            found.iter().map(|d| (d.role, d.date.as_str())).collect();
        assert_eq!(
            roles,
            [
                (DateRole::Birth, "1958-04-27"),
                (DateRole::Due, "2026-04-02"),
                (DateRole::Service, "2025-12-01"),
                (DateRole::Issued, "2026-03-03"),
            ]
        );
        // A letter of February gives an appointment in March: to come, not the letter's date.
        let found = read(
            "Date: 23 February 2026\nYour appointment\nDate: Tuesday 17 March 2026   Time: 14:20",
            Region::Uk,
        );
        assert_eq!(found[1].role, DateRole::Due);
        assert_eq!(document_date(&found).as_deref(), Some("2026-02-23"));
    }

    #[test]
    fn a_follow_up_seen_or_to_come_a_label_just_above_and_a_dose_column() {
        use DateRole::*;
        // A follow-up that took place is the visit; one to come is due.
        assert_eq!(
            role_list("I saw Fiona in follow-up on 2026-01-20.", Region::Ca),
            [Service]
        );
        assert_eq!(
            role_list("I will see her in follow-up on 2026-07-20.", Region::Ca),
            [Due]
        );
        assert_eq!(role_list("Follow-up on 2026-07-20.", Region::Ca), [Due]);
        // The label just above a date alone on its line, though a date of birth is above
        // it too; a birth label is still found past a label naming no role.
        assert_eq!(
            role_list("DOB\n09/14/1994\nCollected\n04/27/2026 18:10", Region::Us),
            [Birth, Service]
        );
        assert_eq!(
            role_list("Date of birth:\nMRN:\n03/04/1961", Region::Ie),
            [Birth]
        );
        // A "Dose" column holds numbers: the dates are given and due, even "2nd dose"
        // under "Next due".
        assert_eq!(
            role_list(
                "Vaccine  Dose  Date given  Batch  Next due\nTyphoid  1  24/11/2025  T4492  24/11/2028\nRabies  1  24/11/2025  R8801  2nd dose 01/12/2025",
                Region::Uk
            ),
            [Service, Due, Service, Due]
        );
        // A "Given by" column holds a name: the row's second date is the next dose.
        assert_eq!(
            role_list(
                "Vaccine  Dose  Date given  Batch  Given by  Next due\nTyphoid  1  02/03/2026  X2K44A  RN M. Daly  02/03/2029",
                Region::Ie
            ),
            [Service, Due]
        );
        // A result's date quoted in brackets is from the history, not the issue date.
        let found = read(
            "HbA1c 58 mmol/mol (dated 02/03/2026).\nDate of examination: 11/03/2026",
            Region::Ie,
        );
        assert_eq!(found[0].role, Other);
        assert_eq!(document_date(&found).as_deref(), Some("2026-03-11"));
        // Suture removal is to come; a dictation's "DD:" and "DT:" date the report.
        assert_eq!(
            role_list(
                "Suture removal in clinic 02/24/2026.\nDD: 02/10/2026   DT: 02/11/2026",
                Region::Us
            ),
            [Due, Issued, Issued]
        );
    }

    #[test]
    fn irish_ordinals_and_months_in_two_words_and_a_french_article_after_a_label() {
        let dates =
            |t: &str| -> Vec<String> { read(t, Region::Ie).into_iter().map(|d| d.date).collect() };
        assert_eq!(
            dates(
                "Dáta / Date: 3ú Márta 2026\nFliú 3ú Deireadh Fómhair 2025\nDáta breithe: 12ú Meán Fómhair 1934"
            ),
            ["2026-03-03", "2025-10-03", "1934-09-12"]
        );
        let found = read(
            "Date de l'intervention : le 8 janvier 2026\nDicté le 8 janvier 2026, transcrit le 9 janvier 2026.",
            Region::Ca,
        );
        let roles: Vec<DateRole> = found.iter().map(|d| d.role).collect();
        assert_eq!(
            roles,
            [DateRole::Service, DateRole::Issued, DateRole::Issued]
        );
        assert_eq!(document_date(&found).as_deref(), Some("2026-01-08"));
    }

    #[test]
    fn history_inside_a_letter_and_a_certificate_of_death() {
        use DateRole::*;
        assert_eq!(
            role_list(
                "His hearing was tested at the audiology clinic on 03/10/2025.\nThank you for your letter dated 12/11/2025.",
                Region::Ie
            ),
            [Other, Other]
        );
        let found = read(
            "Date of death: 26/01/2026\nlast seen alive by me on 25/01/2026.\nDate of certification: 27/01/2026",
            Region::Ie,
        );
        assert_eq!(
            found.iter().map(|d| d.role).collect::<Vec<_>>(),
            [Service, Other, Issued]
        );
        assert_eq!(document_date(&found).as_deref(), Some("2026-01-26"));
    }

    #[test]
    fn an_appointment_before_the_letter_took_place_and_a_consultation_keeps_its_weekday() {
        use DateRole::*;
        assert_eq!(
            role_list(
                "7 May 2025\nHearing aid fitting - appointment 1 May 2025\nFollow-up appointment: 12 June 2025",
                Region::Uk
            ),
            [Issued, Service, Due]
        );
        let found = read(
            "Date of consultation: Tues 3rd Feb 2026\nReferred by Dr A. Power, referral dated 18/11/2025\nOPD review 12/05/2026",
            Region::Ie,
        );
        assert_eq!(
            found.iter().map(|d| d.role).collect::<Vec<_>>(),
            [Service, Other, Due]
        );
        assert_eq!(document_date(&found).as_deref(), Some("2026-02-03"));
        // A year first with the month's name.
        assert_eq!(
            read("Collection date: 2025-Nov-16", Region::Ca)[0].date,
            "2025-11-16"
        );
    }

    #[test]
    fn a_very_long_document_is_read_in_linear_time() {
        let header = "word ".repeat(100_000);
        let rows = "1/1/20 x ".repeat(50_000);
        let text = format!("{header}\n{rows}\n");
        let found = read(&text, Region::Ie);
        assert!(found.len() >= 50_000);
    }

    #[test]
    fn labels_as_ocr_and_clinics_break_them_still_label_their_dates() {
        use DateRole::*;
        // A digit OCR read for a letter.
        assert_eq!(
            role_list(
                "Date of Adm1ssion: 02/01/2026   Date of Discharge: 23/01/2026",
                Region::Ie
            ),
            [Service, Service]
        );
        // An abbreviated discharge; a French one.
        assert_eq!(
            role_list("Adm: 12/28/2025   D/C: 01/03/2026", Region::Us),
            [Service, Service]
        );
        assert_eq!(
            role_list("Admission : 4 mars 2026   Départ : 9 mars 2026", Region::Ca),
            [Service, Service]
        );
        // A label broken over two lines.
        assert_eq!(
            role_list(
                "Admitted 2/24/26.   Date of con-\nsult: 2/27/26",
                Region::Us
            ),
            [Service, Service]
        );
        // A short label opening its line, nine words from its date.
        assert_eq!(
            role_list(
                "Intervention : Coronarographie et ICP de l'IVA moyenne le 5 mars 2026.",
                Region::Ca
            ),
            [Service]
        );
        // A print date beside a title naming a visit.
        assert_eq!(
            role_list(
                "Consultation Report    Printed: 05/03/2026 09:14",
                Region::Ie
            ),
            [Issued]
        );
    }

    #[test]
    fn what_follows_an_unlabelled_date_on_its_line_gives_its_role() {
        use DateRole::*;
        let rows = "Dose   Day   Date          Vaccine\n\
                    1      0     09/02/2026    Rabipur RB4417\n\
                    4      21    02/03/2026    -- due --";
        let found = read(rows, Region::Uk);
        assert_eq!(
            found.last().map(|d| d.role),
            Some(Due),
            "{:?}",
            roles(&found)
        );
        let history = "Patient: Siobhan Example   Date of Birth: 29/11/1983\n\
                       02/03/2026   Dr Ronan Kiely   Surgery consultation\n\
                       S: sore throat, fever.";
        assert_eq!(role_list(history, Region::Ie), [Birth, Service]);
        // "Due to" is a cause.
        assert_ne!(
            role_list("02/03/2026 admitted due to a fall", Region::Ie),
            [Due]
        );
    }

    #[test]
    fn ocr_letters_in_a_date_sentences_over_lines_and_titles_are_read_for_what_they_are() {
        use DateRole::*;
        // A letter O for a zero, an l for a one.
        let found = read(
            "Admitted 14/01/2026   Discharged 2l/01/2026\nDOB O3/04/1956",
            Region::Uk,
        );
        assert_eq!(
            roles(&found),
            [
                (Service, "2026-01-14", false),
                (Service, "2026-01-21", false),
                (Birth, "1956-04-03", false)
            ]
        );
        assert_eq!(repair_digits("Oliver"), "Oliver");
        assert_eq!(repair_digits("1O/2O"), "1O/2O");
        // A label carried over to the next line.
        assert_eq!(
            role_list(
                "first seen on 11/11/2025 and attended 6 sessions, the last on\n20/01/2026.",
                Region::Uk
            ),
            [Service, Service]
        );
        // A trade's title is no clinic: the validation dates the report, not the sample.
        let lab = read(
            "Prélevé le: 2026-02-10 08:40\nValidé par: M. Pelletier, biochimiste clinique — 2026-02-11",
            Region::Ca,
        );
        assert_eq!(lab.iter().map(|d| d.rank).collect::<Vec<_>>(), [2, 0]);
        // An "Age due" column holds ages; the dates are in "Date given".
        let rows = "Age due     Vaccine        Date given     Given by\n\
                    8 weeks     6-in-1, MenB   04/11/2024     PN Shaw";
        assert_eq!(role_list(rows, Region::Uk), [Service]);
        assert_eq!(
            role_list("Exam: 09.02.26   Views: CC + MLO", Region::Ie),
            [Service]
        );
        assert_eq!(
            role_list("Date d'impression: 2026-02-01", Region::Ca),
            [Issued]
        );
    }

    #[test]
    fn dates_written_without_a_year_take_the_year_nearest_the_letters_own() {
        use DateRole::*;
        let letter = "5 March 2026\n\
                      Dear Dr Keating,\n\
                      I saw her in clinic on the 4th of March. Her bloods from Tuesday 24/2\n\
                      were normal. She was admitted on 28 December with chest pain.\n\
                      We will see her again on 15 April.";
        let found = read(letter, Region::Ie);
        let got: Vec<(DateRole, &str)> = found.iter().map(|d| (d.role, d.date.as_str())).collect();
        assert_eq!(
            got,
            [
                (Issued, "2026-03-05"),
                (Service, "2026-03-04"),
                (Other, "2026-02-24"),
                // Before the new year the letter was written in.
                (Service, "2025-12-28"),
                (Due, "2026-04-15"),
            ]
        );
        assert_eq!(document_date(&found).as_deref(), Some("2026-03-04"));
        // Boston reads "3/4" month first, Dublin day first.
        let us = read(
            "February 26, 2026\nShe will return the monitor on 3/4.",
            Region::Us,
        );
        assert_eq!(us[1].date, "2026-03-04");
        let ie = read(
            "26 February 2026\nShe will return the monitor on 3/4.",
            Region::Ie,
        );
        assert_eq!(ie[1].date, "2026-04-03");
        // With no dated line to take a year from, they are not dated at all.
        assert!(read("I saw her in clinic on the 4th of March.", Region::Ie).is_empty());
        // Scores, fractions, doses and the verb "may" are no dates.
        let not_dates = "1 March 2026\nBP 120/80, pain 7/10, MoCA 19/30, smoker 10/day.\n\
                         Take 1/2 tablet on 1/2 tablets. You may 2 days off. Page 1/2";
        assert_eq!(read(not_dates, Region::Ie).len(), 1);
    }

    #[test]
    fn sentences_forms_and_tables_as_ocr_gives_them() {
        use DateRole::*;
        // "a date after" in a sentence is no label of a date.
        let found = read(
            "March 9, 2026\nI request that her service be deferred to a date after June 1, 2026.",
            Region::Us,
        );
        assert_eq!(found[1].role, Other);
        assert_eq!(document_date(&found).as_deref(), Some("2026-03-09"));
        // A sentence ending on the line above a date that opens its line.
        assert_eq!(
            role_list(
                "Enlarging lesion noticed by his wife over 3 months. Seen in clinic\n\
                 01/22/2026 - dermoscopy concerning.",
                Region::Us
            ),
            [Service]
        );
        // A plain "Date:" under a heading saying it is to come.
        assert_eq!(
            role_list(
                "Date: 04/02/2026\nYour appointment:\n  Clinic: Oncology\n  Date: 09/04/2026",
                Region::Ca
            ),
            [Issued, Due]
        );
        // A table's rows wrapping onto lines of their own keep their header.
        let rows = "Date      Time   Notes                         Sign\n\
                    03/02/26  10:15  Wound 4.2 x 3.1 cm, exudate.  M. Joyce\n\
                    \x20                Cleansed, compression.        PHN\n\
                    \x20                ABPI 0.92 noted earlier.\n\
                    10/02/26  09:40  Granulating. GP informed.     S. Walsh\n\
                    \x20                Paracetamol advised.          RGN\n\
                    \x20                Pain at night, settling.\n\
                    \x20                Skin intact around margins.\n\
                    13/02/26  10:30  Slough under 10%.             M. Joyce";
        assert_eq!(role_list(rows, Region::Ie), [Service, Service, Service]);
        // A month's name with the day and year in numbers, and a letter for a digit in
        // the day.
        // A stamp on the paper; an absence's end; a visit past its time; a second date
        // alone in a letter; what is booked.
        assert_eq!(
            role_list(
                "Collected 04/02/2019\n          SEEN 08 FEB 2019   CL",
                Region::Ie
            ),
            [Service, Other]
        );
        assert_eq!(
            role_list(
                "Work note given: excused 01/07/2023 through 01/09/2023",
                Region::Us
            ),
            [Service, Due]
        );
        assert_eq!(
            role_list(
                "0l-Feb-2018 10:20   Dr Helen Marsh (GP)   Surgery consultation",
                Region::Uk
            ),
            [Service]
        );
        assert_eq!(
            role_list(
                "April 4, 2016\nDear Mr Fenstermacher,\nStop iron tablets 7 days before\n(May 5, 2016).",
                Region::Us
            ),
            [Issued, Other]
        );
        assert_eq!(
            role_list(
                "Plan          Booked minor ops clinic 14-Oct-2025 (Dr Okafor)",
                Region::Uk
            ),
            [Due]
        );
        let found = read("Dáta / Date: 3 Deireadh\nFómhair 2025", Region::Ie);
        assert_eq!(roles(&found), [(Issued, "2025-10-03", false)]);
        let found = read(
            "Feb 03/26   PSW visit\nO6-Mar-2026 09:10 Surgery",
            Region::Ca,
        );
        let dates: Vec<&str> = found.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-02-03", "2026-03-06"]);
    }

    #[test]
    fn labels_broken_in_new_places_and_visits_said_in_new_words() {
        let role_of_date = |text: &str, region: Region, date: &str| {
            read(text, region)
                .into_iter()
                .find(|d| d.date == date)
                .map(|d| d.role)
        };
        // A label's word broken without a hyphen, its colon on the next line.
        let t = "Admitted: 01/03/2026 22:40          Dischar\nged: 04/03/2026 11:00";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-03-04"),
            Some(DateRole::Service)
        );
        // A label's first word alone on the line above its "Date:".
        let t = "Admission\nDate: 12/02/2025\nDischarge\nDate: O1/09/2026\nFollow-up: 01/12/2026";
        assert_eq!(
            role_of_date(t, Region::Us, "2026-01-09"),
            Some(DateRole::Service)
        );
        // (Not a heading over a letter's date.)
        let t = "Outpatient Clinic Letter\nDate: 03/08/2018";
        assert_eq!(
            role_of_date(t, Region::Ie, "2018-08-03"),
            Some(DateRole::Issued)
        );
        // A label in two languages reaches past eight words.
        let t = "Prochaine dose / Next dose : Encéphalite japonaise / JE #2 — 02/04/2026";
        assert_eq!(
            role_of_date(t, Region::Ca, "2026-04-02"),
            Some(DateRole::Due)
        );
        // A label ending the line above, after that line's own dates.
        let t = "Dictated: 23/01/2026     Typed: 28/01/2026     Clinic date:\n20/01/2026";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-01-20"),
            Some(DateRole::Service)
        );
        // An Irish weekday after the letter's date: to come.
        let t = "Dáta: 3 Márta 2026\nAn appointment has been arranged for you.\n\
                 Dáta / Date: Dé Máirt, 24 Márta 2026";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-03-24"),
            Some(DateRole::Due)
        );
        // A review held, not one to come.
        let t = "I reviewed Patrick at his annual diabetes review on 7th October 2025.";
        assert_eq!(
            role_of_date(t, Region::Ie, "2025-10-07"),
            Some(DateRole::Service)
        );
        let t = "I saw Karim for follow-up on 04/03/2026 with his mother.";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-03-04"),
            Some(DateRole::Service)
        );
        let t = "It was a pleasure to see you on March 9, 2026 for follow-up of your diabetes.";
        assert_eq!(
            role_of_date(t, Region::Us, "2026-03-09"),
            Some(DateRole::Service)
        );
        // A request for a visit is dated, not visited.
        let t = "CONSULTATION REQUEST - OBSTETRICS                Date: 19/02/2026";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-02-19"),
            Some(DateRole::Issued)
        );
        // A form's capitalised "Completed" is its date; a course completed is history.
        let t = "Form PVFC-REG-2                     Completed 02/24/2021";
        assert_eq!(
            role_of_date(t, Region::Us, "2021-02-24"),
            Some(DateRole::Issued)
        );
        let t = "Clinical details: Pre-exposure course completed 27/01/2026.";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-01-27"),
            Some(DateRole::Other)
        );
        // An order's date, a registry's report and a trip's departure are not the event.
        let t = "Order Date: 12/30/2025\nDate of Exam: January 9, 2026";
        assert_eq!(
            role_of_date(t, Region::Us, "2025-12-30"),
            Some(DateRole::Other)
        );
        assert_eq!(
            role_of_date(t, Region::Us, "2026-01-09"),
            Some(DateRole::Service)
        );
        let t = "Date administered: 10/03/2025\nReported to ORIIX: 10/04/2025";
        assert_eq!(
            role_of_date(t, Region::Us, "2025-10-04"),
            Some(DateRole::Other)
        );
        assert_eq!(
            role_of_date(t, Region::Us, "2025-10-03"),
            Some(DateRole::Service)
        );
        let t = "Date departed UK: 10/08/2025     Date returned to UK: 24/08/2025";
        assert_eq!(
            role_of_date(t, Region::Uk, "2025-08-10"),
            Some(DateRole::Other)
        );
        assert_eq!(
            role_of_date(t, Region::Uk, "2025-08-24"),
            Some(DateRole::Other)
        );
        // A card's label above its value names a birth, however long its line.
        let t = "4 Given names\n  CALLUM JAMES\n5 Date of birth       6 Personal identification number\n  \
                 O2/11/1988            QX 48 21 77 C\n9 Expiry date\n  05/O2/2030";
        assert_eq!(
            role_of_date(t, Region::Uk, "1988-11-02"),
            Some(DateRole::Birth)
        );
    }

    #[test]
    fn addresses_in_a_letterhead_are_read_for_their_country() {
        assert!(eircode("H91", "T2K4") && eircode("D6W", "XY12"));
        assert!(!eircode("H91", "1234"));
        assert!(
            uk_postcode("DT11", "7PQ") && uk_postcode("SW1A", "1AA") && uk_postcode("M1", "1AE")
        );
        assert!(!uk_postcode("M4G", "3C2") && !uk_postcode("2026", "7PQ"));
        assert!(canadian_address("Toronto ON M4G 3C2") && !canadian_address("Leeds LS1 9QX"));
        let lines = |t: &'static str| -> Vec<Vec<&'static str>> {
            t.lines().map(|l| l.split_whitespace().collect()).collect()
        };
        assert_eq!(
            letterhead_order(&lines(
                "GULF SHORES MEMORIAL\n1200 Bayfront Pkwy, Sarasota, FL 34236"
            )),
            Some(Some(Order::MonthFirst))
        );
        assert_eq!(
            letterhead_order(&lines(
                "The Square Medical Practice\nMain Street, Dingle, Co. Kerry  V92 E6N8"
            )),
            Some(Some(Order::DayFirst))
        );
        assert_eq!(
            letterhead_order(&lines(
                "Bayview Clinic\n2-455 Bayview Ave, Toronto ON M4G 3C2"
            )),
            Some(None)
        );
        // Two countries at the top decide nothing.
        assert_eq!(
            letterhead_order(&lines(
                "Clinic, Boston, MA 02115\nTo: Dr X, Galway H91 T2K4"
            )),
            None
        );
    }

    #[test]
    fn timestamps_lost_separators_stacked_headers_and_quoted_papers() {
        let role_of_date = |text: &str, region: Region, date: &str| {
            read(text, region)
                .into_iter()
                .find(|d| d.date == date)
                .map(|d| d.role)
        };
        // An ISO timestamp is its date.
        let t = "Session start: 2026-02-03T14:22:05Z   (09:22 AM EST)";
        assert_eq!(
            role_of_date(t, Region::Us, "2026-02-03"),
            Some(DateRole::Service)
        );
        // A date whose slashes the scan lost, with OCR's letters for digits.
        let t = "Date of referral:  19/O2/2O26      Date patient seen:  18 O2 2026";
        assert_eq!(
            role_of_date(t, Region::Uk, "2026-02-18"),
            Some(DateRole::Service)
        );
        assert_eq!(
            read("Hb 98 g/L, MCV 74, ferritin 6", Region::Uk).len(),
            0,
            "numbers are no date"
        );
        // S for 5 and B for 8 in a numeric date.
        let t = "Report verified:  2S.O2.2O26\nDOB  2B/O2/1944";
        assert!(role_of_date(t, Region::Uk, "2026-02-25").is_some());
        assert_eq!(
            role_of_date(t, Region::Uk, "1944-02-28"),
            Some(DateRole::Birth)
        );
        // A year on the next line under OCR's letters.
        let t = "Admit Date: O2/2O/2026          Discharge Date: O2/24/\n2026";
        assert_eq!(
            role_of_date(t, Region::Us, "2026-02-24"),
            Some(DateRole::Service)
        );
        // Two header lines over two rows, each row under its own: the birth stays a birth.
        let t = "Lab No.           Patient                 DOB             Sex\n\
                 Date collected    Date received           Date reported\n\
                 S26-O4411         BYRNE, Gráinne          O1/12/1967      F\n\
                 O3/O3/2O26        O4/O3/2O26              1O/O3/2O26";
        let found = read(t, Region::Ie);
        let role = |date: &str| found.iter().find(|d| d.date == date).map(|d| d.role);
        assert_eq!(role("1967-12-01"), Some(DateRole::Birth));
        assert_eq!(role("2026-03-03"), Some(DateRole::Service));
        // Short column names with their colons over the dates.
        let t = "Coll:              Rec'd:             Auth:\n\
                 11-Mar-2O26        11-Mar-2026        12-Mar-2O26\nO9:1S  13:4O  14:OO";
        let found = read(t, Region::Uk);
        assert_eq!(
            found.iter().map(|d| (d.role, d.rank)).collect::<Vec<_>>(),
            [
                (DateRole::Service, 2),
                (DateRole::Service, 1),
                (DateRole::Service, 0)
            ]
        );
        // A paper's date quoted in passing is no issue date.
        let t = "DNACPR status unchanged (signed 15-Mar-2025, family aware).";
        assert_eq!(
            role_of_date(t, Region::Ie, "2025-03-15"),
            Some(DateRole::Other)
        );
        // "Date of review:" is the review held.
        let t = "Date of review: 09-Jan-2026";
        assert_eq!(
            role_of_date(t, Region::Ie, "2026-01-09"),
            Some(DateRole::Service)
        );
    }

    #[test]
    fn bookings_stays_sessions_and_labels_broken_mid_word_after_their_words() {
        let role_of_date = |text: &str, region: Region, date: &str| {
            read(text, region)
                .into_iter()
                .find(|d| d.date == date)
                .map(|d| d.role)
        };
        // When a booking was made is no appointment to come.
        let t = "Booking ref: PTS-2603-118872      Booked on: 02/03/2026 10:17 by admin\n\
                 Appointment: Thu 19/03/2026 at 11:20";
        assert_eq!(
            role_of_date(t, Region::Uk, "2026-03-02"),
            Some(DateRole::Issued)
        );
        // A kit to be collected is to come; a sample collected is not.
        let t = "Monitoring kit to be collected 05/03/2026.";
        assert_eq!(
            role_of_date(t, Region::Uk, "2026-03-05"),
            Some(DateRole::Due)
        );
        // "Date of Dis" / "charge:": the word joined, the label's words before it.
        let t = "Admitted: 03-May-2012 22:15 via ED\nDate of Dis\ncharge: 06-May-2012";
        assert_eq!(
            role_of_date(t, Region::Ie, "2012-05-06"),
            Some(DateRole::Service)
        );
        // Sessions held, the last of them named without a year's doubt.
        let t = "She attended eight sessions between 26/09/2023 and 12/12/2023.";
        assert_eq!(
            role_of_date(t, Region::Ie, "2023-12-12"),
            Some(DateRole::Service)
        );
        let t = "I have seen him for six sessions, most recently on 27 February 2020.";
        assert_eq!(
            role_of_date(t, Region::Ie, "2020-02-27"),
            Some(DateRole::Service)
        );
        // A two-digit year without its slashes, only after a date's own label.
        let t = "ISSUE DATE 07 12 23";
        assert_eq!(
            read(t, Region::Us).first().map(|d| d.date.as_str()),
            Some("2023-07-12")
        );
        assert!(read("Ward 07 12 23", Region::Us).is_empty());
        // A history's accident and a form's first treatment.
        let t =
            "Date of accident (DD/MM/YYYY): 15/08/2023\nDate of first treatment by you: 17/08/2023";
        assert_eq!(
            role_of_date(t, Region::Ca, "2023-08-15"),
            Some(DateRole::Other)
        );
        assert_eq!(
            role_of_date(t, Region::Ca, "2023-08-17"),
            Some(DateRole::Service)
        );
        // A plan's certification period ends to come.
        let t = "Certification Period From: 02/21/2026  To: 04/21/2026";
        assert_eq!(
            role_of_date(t, Region::Us, "2026-02-21"),
            Some(DateRole::Service)
        );
        assert_eq!(
            role_of_date(t, Region::Us, "2026-04-21"),
            Some(DateRole::Due)
        );
    }

    #[test]
    fn spanish_fields_and_another_paper_dated_in_a_sentence() {
        let found = read(
            "Fecha de nacimiento: 07/22/1986\nFecha de visita: 02/10/2026  09:40",
            Region::Us,
        );
        assert_eq!(
            roles(&found),
            [
                (DateRole::Birth, "1986-07-22", false),
                (DateRole::Service, "2026-02-10", false)
            ]
        );
        // Another paper's date in a sentence is history; a form's "Dated:" is its own.
        let t = "family agree no artificial nutrition as per Advance Care Plan dated 11/11/2025.";
        assert_eq!(read(t, Region::Ie)[0].role, DateRole::Other);
        assert_eq!(
            read("Dated: 05/03/2026", Region::Ie)[0].role,
            DateRole::Issued
        );
    }
}
