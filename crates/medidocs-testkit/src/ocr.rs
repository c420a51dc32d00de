//! What every OCR engine must do with a page image, whatever reads it (Tesseract on this
//! machine, Textract in AWS): the page's words come back in the OCR model's shape, under
//! the page number asked for, with boxes on the page and confidences in range; pages read
//! at once do not mix; an input the engine cannot read is the port's `InvalidInput`.

use anyhow::{Result, anyhow, ensure};
use medidocs_core::ports::{OcrEngine, OcrError};

use crate::Cases;

/// A page for the suite: a page image the engine reads, and words it must find there.
pub struct OcrPageCase<'a> {
    pub png: &'a [u8],
    /// Words the page holds (compared case-insensitively, as whole words).
    pub words: &'a [&'a str],
    /// Bytes the engine must refuse as `InvalidInput` (not an image it can read).
    pub unreadable: &'a [u8],
}

/// Runs every OCR case; returns the number of cases run.
pub async fn ocr_engine_suite(engine: &dyn OcrEngine, case: OcrPageCase<'_>) -> Result<usize> {
    let mut c = Cases::new();

    c.check(
        "a page is read into lines of words, under the page number asked for",
        async {
            let page = engine.recognize(case.png, 7).await?;
            ensure!(page.page == 7, "page {} came back for page 7", page.page);
            ensure!(!page.lines.is_empty(), "no lines");
            let text = page.text().to_lowercase();
            let found: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            for w in case.words {
                ensure!(
                    found.contains(&w.to_lowercase().as_str()),
                    "{w:?} not read: {text:?}"
                );
            }
            Ok(())
        }
        .await,
    );

    c.check(
        "boxes lie on the page and confidences are percentages",
        async {
            let page = engine.recognize(case.png, 1).await?;
            let on_page = |b: &medidocs_core::ocr::BoundingBox| {
                let ok = |v: f32| (-0.001..=1.001).contains(&v);
                ok(b.left)
                    && ok(b.top)
                    && b.width >= 0.0
                    && b.height >= 0.0
                    && ok(b.left + b.width)
                    && ok(b.top + b.height)
            };
            for line in &page.lines {
                ensure!(!line.text.trim().is_empty(), "an empty line");
                ensure!(on_page(&line.bbox), "line box {:?} off the page", line.bbox);
                ensure!(
                    (0.0..=100.0).contains(&line.confidence),
                    "line confidence {}",
                    line.confidence
                );
                ensure!(!line.words.is_empty(), "line {:?} has no words", line.text);
                for w in &line.words {
                    ensure!(on_page(&w.bbox), "word box {:?} off the page", w.bbox);
                    ensure!(
                        (0.0..=100.0).contains(&w.confidence),
                        "word confidence {}",
                        w.confidence
                    );
                    ensure!(
                        line.text.contains(w.text.trim()),
                        "word {:?} is not in its line {:?}",
                        w.text,
                        line.text
                    );
                }
            }
            Ok(())
        }
        .await,
    );

    c.check(
        "pages read at the same time each come back as themselves",
        async {
            let (a, b, d) = tokio::join!(
                engine.recognize(case.png, 1),
                engine.recognize(case.png, 2),
                engine.recognize(case.png, 3)
            );
            let (a, b, d) = (a?, b?, d?);
            ensure!(
                (a.page, b.page, d.page) == (1, 2, 3),
                "pages {} {} {}",
                a.page,
                b.page,
                d.page
            );
            ensure!(
                a.text() == b.text() && b.text() == d.text(),
                "the same image read three ways"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "an input the engine cannot read is InvalidInput",
        async {
            match engine.recognize(case.unreadable, 1).await {
                Err(OcrError::InvalidInput { .. }) => Ok(()),
                Err(e) => Err(anyhow!("expected InvalidInput, got {e}")),
                Ok(p) => Err(anyhow!("read {} lines from it", p.lines.len())),
            }
        }
        .await,
    );

    c.check(
        "the engine's image limits are usable",
        async {
            if let Some(bytes) = engine.max_image_bytes() {
                ensure!(bytes >= 1024 * 1024, "max_image_bytes {bytes}");
            }
            if let Some(side) = engine.max_image_side() {
                ensure!(side >= 2000, "max_image_side {side}");
            }
            ensure!(!engine.name().is_empty(), "no name");
            Ok(())
        }
        .await,
    );

    c.finish("OCR engine")
}
