//! State payloads stay small however long the document: a 500-page TIFF runs through the
//! real state machine, and every state input and output in its history is measured.

use std::io::Cursor;
use std::sync::Arc;

use async_trait::async_trait;
use medidocs_core::model::{Status, TextSource};
use medidocs_core::ocr::OcrPage;
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_core::runner::Runner;
use medidocs_core::states::SystemClock;
use medidocs_core::steps::Steps;
use medidocs_local::{LocalConfig, LocalRuntime};

/// The property here is payload size, not recognition: every page reads as blank, which
/// keeps 500 pages to seconds instead of minutes of Tesseract.
struct BlankPages;

#[async_trait]
impl OcrEngine for BlankPages {
    fn name(&self) -> &str {
        "blank"
    }
    async fn recognize(&self, _png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        Ok(OcrPage {
            page,
            text_source: TextSource::Ocr,
            rotation: 0,
            lines: vec![],
        })
    }
}

/// Step Functions refuses payloads over 256 KiB; ours should stay far below.
const BUDGET: usize = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_page_document_keeps_every_state_payload_small() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("long-scan.tif");
    let mut bytes = Vec::new();
    {
        let mut enc = tiff::encoder::TiffEncoder::new(Cursor::new(&mut bytes)).unwrap();
        for i in 0..500u32 {
            enc.write_image::<tiff::encoder::colortype::Gray8>(
                16,
                16,
                &[(i % 200) as u8 + 30; 256],
            )
            .unwrap();
        }
    }
    std::fs::write(&tif, bytes).unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
    let steps = Steps::new(
        rt.objects.clone(),
        rt.meta.clone(),
        Arc::new(BlankPages),
        rt.config.limits,
        2,
    );
    let runner = Runner::new(steps, Arc::new(SystemClock));
    let outcome = runner.run(&rt.ingest(&tif, "p1").unwrap()).await.unwrap();
    assert_eq!(
        outcome.record.status,
        Status::Ready,
        "{:?}",
        outcome.record.reason
    );
    assert_eq!(outcome.record.pages, 500);
    assert_eq!(outcome.record.renditions.len(), 1500);
    let mut largest = (0, String::new());
    for e in &outcome.history {
        for key in ["stateEnteredEventDetails", "stateExitedEventDetails"] {
            for field in ["input", "output"] {
                if let Some(s) = e[key][field].as_str()
                    && s.len() > largest.0
                {
                    largest = (s.len(), format!("{} of {}", field, e[key]["name"]));
                }
            }
        }
    }
    println!("largest state payload: {} bytes ({})", largest.0, largest.1);
    assert!(
        largest.0 > 0 && largest.0 < BUDGET,
        "largest state payload {} bytes ({})",
        largest.0,
        largest.1
    );
}
