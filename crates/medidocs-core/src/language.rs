//! The language a page is written in, decided from the page's own words.
//!
//! Why words and not script detection: the four languages we read (English, Irish, French,
//! Spanish) share the Latin script, so script detection (Tesseract's OSD) cannot tell them
//! apart. What does tell them apart, even in a reading made with another language's model,
//! is their function words (`the`/`and`, `agus`/`na`/`bhí`, `le`/`les`/`des`/`est`,
//! `el`/`los`/`del`/`y`), which every running text is full of and which OCR reads well
//! because they are short and common, and their letters with diacritics (`ç è ê à` are
//! French, `ñ ¿ ¡` Spanish, a fada on `á í ó ú` Irish or Spanish). Each word scores for the
//! languages it belongs to, a word shared by several languages (`la`, `de`, `an`) split
//! between them; the best language must lead clearly on enough evidence, else the patient's
//! region decides ([`decide`], [`prior`]): English everywhere we work.
//!
//! The detector is pure and engine-free: the Tesseract adapter runs it on a probe of a
//! page's running text to choose the model the page is read with ([`probe_says`]) and on
//! that reading to check it ([`detect`]), and the same function names the language of a
//! Textract page or of a PDF's text layer, neither of which reports one.

use serde::{Deserialize, Serialize};

use crate::understand::Region;

/// A language the OCR engines are set up to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "ga")]
    Irish,
    #[serde(rename = "fr")]
    French,
    #[serde(rename = "es")]
    Spanish,
}

impl Language {
    pub const ALL: [Language; 4] = [
        Language::English,
        Language::Irish,
        Language::French,
        Language::Spanish,
    ];

    /// ISO 639-1 code, as the API and `ocr.json` show it.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Irish => "ga",
            Language::French => "fr",
            Language::Spanish => "es",
        }
    }

    /// Tesseract's name of its model (ISO 639-2/T), as Debian's `tesseract-ocr-*` packages
    /// install it.
    pub fn tesseract(self) -> &'static str {
        match self {
            Language::English => "eng",
            Language::Irish => "gle",
            Language::French => "fra",
            Language::Spanish => "spa",
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.code() == code || l.tesseract() == code)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The region's expectations: the language a page is taken to be in without evidence,
/// and a language whose model also reads the names there. Irish patients' names and
/// places carry fadas (Seán Ó Súilleabháin) that the Irish model writes and the French and
/// Spanish ones do not (`Sen Ô Süilleabhäin`); the English model reads `Sean O
/// Suilleabhain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prior {
    pub default: Language,
    pub names: Option<Language>,
}

pub fn prior(region: Region) -> Prior {
    match region {
        Region::Ie => Prior {
            default: Language::English,
            names: Some(Language::Irish),
        },
        Region::Uk | Region::Us | Region::Ca => Prior {
            default: Language::English,
            names: None,
        },
    }
}

/// Tesseract's language list for reading a page in `lang` for a patient of `prior`: the
/// language first, and on a page in another language than the region's default, the
/// names' language after it (Tesseract tries it on the words the first reads badly).
///
/// Not on the default's pages: there the second model also "reads" what no dictionary
/// holds (units, codes: `umol/L` became `umol/tr;` on the samples' lab report, whose
/// character error rate rose from 4.4 to 5.2 %), and those pages are most pages. An
/// English page of an Irish patient is read as the `tesseract` command reads it, and a
/// name on it loses its fadas (`Sean O Suilleabhain`).
pub fn tesseract_languages(lang: Language, prior: Prior) -> String {
    match prior.names {
        Some(n) if n != lang && lang != prior.default => {
            format!("{}+{}", lang.tesseract(), n.tesseract())
        }
        _ => lang.tesseract().to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub language: Language,
    /// The evidence found for it (the words' scores).
    pub evidence: f32,
}

/// Function words: (word, languages it belongs to). Lower case; a word OCR may read
/// without its accent is listed in both forms.
const WORDS: &[(&str, &[Language])] = {
    use Language::*;
    &[
        // English
        ("the", &[English]),
        ("and", &[English]),
        ("of", &[English]),
        ("to", &[English]),
        ("in", &[English]),
        ("is", &[English, Irish]),
        ("for", &[English]),
        ("with", &[English]),
        ("was", &[English]),
        ("that", &[English]),
        ("this", &[English]),
        ("be", &[English]),
        ("are", &[English]),
        ("from", &[English]),
        ("by", &[English]),
        ("at", &[English]),
        ("has", &[English]),
        ("have", &[English]),
        ("he", &[English]),
        ("she", &[English]),
        ("his", &[English]),
        ("her", &[English]),
        ("your", &[English]),
        ("we", &[English]),
        ("on", &[English]),
        ("an", &[English, Irish]),
        ("or", &[English]),
        ("not", &[English]),
        ("if", &[English]),
        ("will", &[English]),
        ("should", &[English]),
        ("date", &[English]),
        ("patient", &[English, French]),
        // Irish
        ("agus", &[Irish]),
        ("na", &[Irish]),
        ("ag", &[Irish]),
        ("ar", &[Irish]),
        ("tá", &[Irish]),
        ("ta", &[Irish]),
        ("bhí", &[Irish]),
        ("bhi", &[Irish]),
        ("níl", &[Irish]),
        ("leis", &[Irish]),
        ("chun", &[Irish]),
        ("faoi", &[Irish]),
        ("seo", &[Irish]),
        ("sin", &[Irish, Spanish]),
        ("ach", &[Irish]),
        ("nó", &[Irish]),
        ("sé", &[Irish]),
        ("sí", &[Irish]),
        ("mé", &[Irish]),
        ("go", &[Irish]),
        ("ón", &[Irish]),
        ("sa", &[Irish]),
        ("san", &[Irish]),
        ("don", &[Irish]),
        ("den", &[Irish]),
        ("dó", &[Irish]),
        ("mar", &[Irish]),
        ("éis", &[Irish]),
        ("tar", &[Irish]),
        ("air", &[Irish]),
        ("aon", &[Irish]),
        ("gach", &[Irish]),
        ("freisin", &[Irish]),
        ("atá", &[Irish]),
        ("ní", &[Irish]),
        ("le", &[Irish, French]),
        ("do", &[Irish, English]),
        ("dochtúir", &[Irish]),
        ("othar", &[Irish]),
        ("ospidéal", &[Irish]),
        // French
        ("les", &[French, Spanish]),
        ("des", &[French]),
        ("du", &[French]),
        ("et", &[French]),
        ("est", &[French]),
        ("une", &[French]),
        ("pour", &[French]),
        ("dans", &[French]),
        ("sur", &[French]),
        ("avec", &[French]),
        ("au", &[French]),
        ("aux", &[French]),
        ("ce", &[French]),
        ("cette", &[French]),
        ("qui", &[French]),
        ("pas", &[French]),
        ("ne", &[French]),
        ("il", &[French]),
        ("elle", &[French]),
        ("nous", &[French]),
        ("vous", &[French]),
        ("sont", &[French]),
        ("été", &[French]),
        ("ete", &[French]),
        ("à", &[French]),
        ("où", &[French]),
        ("mais", &[French]),
        ("votre", &[French]),
        ("nos", &[French, Spanish]),
        ("puis", &[French]),
        ("après", &[French]),
        ("son", &[French, Spanish]),
        ("sa", &[French]),
        ("ses", &[French]),
        ("ces", &[French]),
        ("cet", &[French]),
        ("mon", &[French]),
        ("leur", &[French]),
        ("notre", &[French]),
        ("ont", &[French]),
        ("était", &[French]),
        ("être", &[French]),
        ("doit", &[French]),
        ("peut", &[French]),
        ("sans", &[French]),
        ("sous", &[French]),
        ("chez", &[French]),
        ("depuis", &[French]),
        ("aussi", &[French]),
        ("très", &[French]),
        ("ou", &[French]),
        ("lui", &[French]),
        ("jours", &[French]),
        ("semaines", &[French]),
        ("médecin", &[French]),
        ("fois", &[French]),
        ("heures", &[French]),
        ("matin", &[French]),
        ("soir", &[French]),
        ("comprimé", &[French]),
        ("comprimés", &[French]),
        ("entre", &[French, Spanish]),
        ("si", &[French, Spanish]),
        ("la", &[French, Spanish]),
        ("de", &[French, Spanish]),
        ("un", &[French, Spanish]),
        ("que", &[French, Spanish]),
        ("en", &[French, Spanish]),
        // Spanish
        ("el", &[Spanish]),
        ("los", &[Spanish]),
        ("las", &[Spanish]),
        ("del", &[Spanish]),
        ("y", &[Spanish]),
        ("por", &[Spanish]),
        ("para", &[Spanish]),
        ("con", &[Spanish]),
        ("una", &[Spanish]),
        ("es", &[Spanish]),
        ("se", &[Spanish]),
        ("al", &[Spanish]),
        ("su", &[Spanish]),
        ("sus", &[Spanish]),
        ("como", &[Spanish]),
        ("más", &[Spanish]),
        ("está", &[Spanish]),
        ("fue", &[Spanish]),
        ("lo", &[Spanish]),
        ("ha", &[Spanish]),
        ("después", &[Spanish]),
        ("muy", &[Spanish]),
        ("sobre", &[Spanish]),
        ("desde", &[Spanish]),
        ("hasta", &[Spanish]),
        ("este", &[Spanish]),
        ("esta", &[Spanish]),
        ("pero", &[Spanish]),
        ("también", &[Spanish]),
        ("cuando", &[Spanish]),
        ("tiene", &[Spanish]),
        ("debe", &[Spanish]),
        ("días", &[Spanish]),
        ("semanas", &[Spanish]),
        ("médico", &[Spanish]),
        ("doctora", &[Spanish]),
        ("cada", &[Spanish]),
        ("horas", &[Spanish]),
        ("veces", &[Spanish]),
        ("noche", &[Spanish]),
        ("mañana", &[Spanish]),
        ("comprimido", &[Spanish]),
        ("comprimidos", &[Spanish]),
        ("durante", &[Spanish]),
        ("paciente", &[Spanish]),
    ]
};

/// What a letter says: (letter, [English, Irish, French, Spanish] weights).
fn letter_evidence(c: char) -> [f32; 4] {
    match c {
        'ç' | 'è' | 'ê' | 'à' | 'â' | 'î' | 'ô' | 'û' | 'ù' | 'ë' | 'ï' | 'œ' => {
            [0.0, 0.0, 1.0, 0.0]
        }
        'ñ' | '¿' | '¡' => [0.0, 0.0, 0.0, 1.0],
        'é' => [0.0, 0.3, 0.6, 0.3],
        'á' | 'í' | 'ó' | 'ú' => [0.0, 0.6, 0.0, 0.5],
        _ => [0.0; 4],
    }
}

/// Evidence below this is too little to overrule the prior.
const MIN_EVIDENCE: f32 = 3.0;
/// Evidence enough in a probe (about a line, [`probe_says`]).
const MIN_PROBE_EVIDENCE: f32 = 2.0;
/// The best language must lead the second by this factor.
const MIN_LEAD: f32 = 1.5;

/// The language of a page for a patient of `region`: what its words say, else the
/// region's default.
pub fn decide<'a>(words: impl IntoIterator<Item = &'a str>, region: Region) -> Language {
    detect(words).map_or(prior(region).default, |d| d.language)
}

/// The language of a page from its words (in any order, as an engine read them), or
/// `None` when they are too few to say (a table of numbers, a label).
pub fn detect<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<Detection> {
    let (language, best, second) = leader(words);
    (best >= MIN_EVIDENCE && best >= MIN_LEAD * second).then_some(Detection {
        language,
        evidence: best,
    })
}

/// What a probe says, as it adds words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbeSays {
    /// Evidence enough for this language.
    Language(Language),
    /// Too little yet, but more for this language than for any other: a further probe may
    /// settle it.
    Leaning(Language),
    /// Nothing (numbers, names), or a tie.
    Nothing,
}

/// What a probe's words (about a line of a page's running text) say of the page's language.
/// The bar is lower than [`detect`]'s: what a probe decides is only which language the
/// whole page is read in first, and that reading's own words are checked with [`detect`];
/// a probe that misleads costs a second reading, as a page without a probe does, never a
/// page read in the wrong language.
pub fn probe_says<'a>(words: impl IntoIterator<Item = &'a str>) -> ProbeSays {
    let (language, best, second) = leader(words);
    if best >= MIN_PROBE_EVIDENCE && best >= MIN_LEAD * second {
        ProbeSays::Language(language)
    } else if best > second {
        ProbeSays::Leaning(language)
    } else {
        ProbeSays::Nothing
    }
}

/// The language with most evidence in `words`, its evidence, and the runner-up's.
fn leader<'a>(words: impl IntoIterator<Item = &'a str>) -> (Language, f32, f32) {
    let score = scores(words);
    let mut order = Language::ALL;
    order.sort_by(|a, b| score[b.index()].total_cmp(&score[a.index()]));
    (order[0], score[order[0].index()], score[order[1].index()])
}

/// Each language's evidence in `words`.
fn scores<'a>(words: impl IntoIterator<Item = &'a str>) -> [f32; 4] {
    let mut score = [0f32; 4];
    for raw in words {
        let w: String = raw
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if w.is_empty() {
            continue;
        }
        // Elided articles and pronouns (l'évolution, d'imigh, qu'il) are French or Irish.
        if let Some((head, _)) = w.split_once(['\'', '’']) {
            match head {
                "l" | "qu" | "j" | "n" | "s" | "c" => score[Language::French.index()] += 0.5,
                "d" => {
                    score[Language::French.index()] += 0.3;
                    score[Language::Irish.index()] += 0.3;
                }
                _ => {}
            }
        }
        if let Some((_, langs)) = WORDS.iter().find(|(x, _)| *x == w) {
            let share = 1.0 / langs.len() as f32;
            for l in *langs {
                score[l.index()] += share;
            }
        }
        let mut letters = [0f32; 4];
        for c in w.chars() {
            for (acc, e) in letters.iter_mut().zip(letter_evidence(c)) {
                *acc = acc.max(e);
            }
        }
        // Irish spelling: lenition (bh, mh, ch, dh, gh, fh after the first letter) and
        // eclipsis (bhf, dt, gc, nd, ng at a word's start) with a fada elsewhere in the word.
        let starts = ["bhf", "dt", "gc", "mb", "ng", "bp", "nd"];
        if starts.iter().any(|s| w.starts_with(s)) || w.starts_with("t-") || w.starts_with("n-") {
            letters[Language::Irish.index()] += 0.5;
        }
        for (s, l) in score.iter_mut().zip(letters) {
            *s += l;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, region: Region, expect: Language, from_text: bool) {
        let d = detect(text.split_whitespace());
        assert_eq!(d.is_some(), from_text, "{text}: {d:?}");
        assert_eq!(decide(text.split_whitespace(), region), expect, "{text}");
    }

    #[test]
    fn languages_are_told_apart_by_their_own_words() {
        use Language::*;
        let ie = Region::Ie;
        check(
            "Your patient was admitted with pneumonia and the fever settled",
            ie,
            English,
            true,
        );
        check(
            "Bhí an t-othar san ospidéal agus tháinig feabhas air tar éis dhá lá",
            ie,
            Irish,
            true,
        );
        check(
            "Votre patient a été hospitalisé pour une pneumonie et la fièvre a disparu",
            ie,
            French,
            true,
        );
        check(
            "El paciente ingresó por una neumonía y la fiebre desapareció después de dos días",
            ie,
            Spanish,
            true,
        );
        // Read by the English model, accents lost: the function words still decide.
        check(
            "Votre patient a ete hospitalise du 3 au 9 novembre pour une pneumonie",
            Region::Ca,
            French,
            true,
        );
    }

    #[test]
    fn a_line_of_running_text_is_evidence_enough_for_a_probe() {
        use Language::*;
        for (line, lang) in [
            ("dans six semaines. Le patient doit consulter son", French),
            ("No se conocen. Atentamente, la doctora Maria José", Spanish),
            ("Molaimid go leanfadh sé ar aghaidh leis an", Irish),
            ("Your patient was admitted from the 3rd to the 9th", English),
        ] {
            assert_eq!(
                probe_says(line.split_whitespace()),
                ProbeSays::Language(lang),
                "{line}"
            );
        }
        // A line of a lab table or a name says nothing, even to a probe.
        for line in [
            "Haemoglobin 13.9 g/dL Sodium 139 mmol/L",
            "Patient: Sean O Suilleabhain 12/03/1961",
        ] {
            assert_eq!(
                probe_says(line.split_whitespace()),
                ProbeSays::Nothing,
                "{line}"
            );
        }
        // A few words lean; more settle it.
        assert_eq!(
            probe_says("dans six".split_whitespace()),
            ProbeSays::Leaning(French)
        );
        assert_eq!(
            probe_says("dans six semaines".split_whitespace()),
            ProbeSays::Language(French)
        );
    }

    #[test]
    fn too_little_evidence_leaves_the_region_s_default() {
        // A lab table: numbers and units, no running text.
        check(
            "Haemoglobin 13.9 g/dL Sodium 139 mmol/L",
            Region::Us,
            Language::English,
            false,
        );
        check("", Region::Ie, Language::English, false);
        // Shared words alone (la, de, en) lead no language clearly.
        check("la de en la de", Region::Ie, Language::English, false);
    }

    #[test]
    fn codes_and_models_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::parse(l.code()), Some(l));
            assert_eq!(Language::parse(l.tesseract()), Some(l));
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.code()));
        }
        let ie = prior(Region::Ie);
        assert_eq!(tesseract_languages(Language::French, ie), "fra+gle");
        assert_eq!(tesseract_languages(Language::Irish, ie), "gle");
        assert_eq!(tesseract_languages(Language::English, ie), "eng");
        assert_eq!(
            tesseract_languages(Language::French, prior(Region::Ca)),
            "fra"
        );
    }
}
