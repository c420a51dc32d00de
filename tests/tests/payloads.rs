//! State payloads stay small however long the document: a 500-page TIFF runs through the
//! real state machine, and every state input and output in its history is measured.

use std::io::Cursor;
use std::sync::Arc;

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::{Status, TextSource};
use medidocs_core::ocr::OcrPage;
use medidocs_core::ports::{ObjectMeta, ObjectStore, OcrEngine, OcrError, PutMode, StoreError};
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_pipeline::runner::Runner;
use medidocs_pipeline::steps::Steps;
use medidocs_states::SystemClock;

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
            language: None,
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
    let outcome = runner
        .run(&rt.ingest(&tif, "p1").await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        outcome.record.status,
        Status::Ready,
        "{:?}",
        outcome.record.reason
    );
    assert_eq!(outcome.record.pages, 500);
    assert_eq!(outcome.record.renditions.len(), 1000);
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

/// An engine that takes page images of at most `max` bytes, like Textract's synchronous
/// calls, and records what it was sent.
struct SmallImagesOnly {
    max: usize,
    sent: std::sync::Mutex<Vec<usize>>,
}

#[async_trait]
impl OcrEngine for SmallImagesOnly {
    fn name(&self) -> &str {
        "small-images"
    }
    fn max_image_bytes(&self) -> Option<usize> {
        Some(self.max)
    }
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        self.sent.lock().unwrap().push(png.len());
        if png.len() > self.max {
            return Err(OcrError::InvalidInput {
                what: "too large".into(),
            });
        }
        BlankPages.recognize(png, page).await
    }
}

/// Runs `file` through the pipeline over `objects` with `engine`; it must end READY.
async fn run_ready(
    rt: &LocalRuntime,
    objects: Arc<dyn ObjectStore>,
    engine: Arc<SmallImagesOnly>,
    file: &std::path::Path,
) -> medidocs_pipeline::runner::Outcome {
    let steps = Steps::new(objects, rt.meta.clone(), engine, rt.config.limits, 2);
    let runner = Runner::new(steps, Arc::new(SystemClock));
    let outcome = runner
        .run(&rt.ingest(file, "p1").await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        outcome.record.status,
        Status::Ready,
        "{:?}",
        outcome.record.reason
    );
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ocr_image_over_the_engines_limit_is_reduced_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("noisy-photo.png");
    let mut x = 1u64;
    let img = image::GrayImage::from_fn(1500, 1000, |_, _| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        image::Luma([(x >> 56) as u8])
    });
    img.save(&photo).unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
    let engine = Arc::new(SmallImagesOnly {
        max: 400_000,
        sent: Default::default(),
    });
    let outcome = run_ready(&rt, rt.objects.clone(), engine.clone(), &photo).await;
    let sent = engine.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0] <= 400_000, "sent {} bytes", sent[0]);
    // The OCR image (full size, over the engine's limit) was an intermediate: the record
    // lists only what is kept, and nothing is left under work/.
    assert!(outcome.record.renditions.iter().all(|r| r.name != "ocr"));
    assert!(
        rt.objects
            .list(&keys::work_prefix(&outcome.record.id))
            .await
            .unwrap()
            .is_empty()
    );
}

/// An object store that loses every intermediate under `work/` as soon as it is written:
/// the OCR image expiring (or never replicated) before the page's OCR step runs.
struct ForgetsWork(Arc<dyn ObjectStore>);

#[async_trait]
impl ObjectStore for ForgetsWork {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        if keys::is_kept(key) {
            self.0.put(key, bytes, mode).await
        } else {
            Ok(ObjectMeta {
                key: key.into(),
                size: bytes.len() as u64,
            })
        }
    }
    async fn put_file(
        &self,
        key: &str,
        file: medidocs_core::ports::LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.0.put_file(key, file, mode).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.0.get(key).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.0.head(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.0.list(prefix).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.0.copy(from, to).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn get_version(&self, key: &str, version: &str) -> Result<Vec<u8>, StoreError> {
        self.0.get_version(key, version).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ocr_image_gone_before_the_ocr_step_is_made_again_from_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.png");
    image::GrayImage::from_fn(900, 600, |x, y| {
        image::Luma([((x * 7 + y * 3) % 251) as u8])
    })
    .save(&scan)
    .unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
    let engine = Arc::new(SmallImagesOnly {
        max: usize::MAX,
        sent: Default::default(),
    });
    run_ready(
        &rt,
        Arc::new(ForgetsWork(rt.objects.clone())),
        engine.clone(),
        &scan,
    )
    .await;
    // The engine was given the page's OCR image, made again: a PNG of the page.
    let sent = engine.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0] > 1000, "sent {} bytes", sent[0]);
}

/// A store that counts the reads of originals (and, if asked, loses every intermediate
/// under `work/`, as [`ForgetsWork`] does).
struct CountsOriginalReads {
    inner: Arc<dyn ObjectStore>,
    forget_work: bool,
    reads: std::sync::atomic::AtomicUsize,
    /// Bytes of originals read, whole or in parts.
    bytes: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl ObjectStore for CountsOriginalReads {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        if self.forget_work && !keys::is_kept(key) {
            return Ok(ObjectMeta {
                key: key.into(),
                size: bytes.len() as u64,
            });
        }
        self.inner.put(key, bytes, mode).await
    }
    async fn put_file(
        &self,
        key: &str,
        file: medidocs_core::ports::LocalFile<'_>,
        mode: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.inner.put_file(key, file, mode).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.inner.head(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.copy(from, to).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn get_version(&self, key: &str, version: &str) -> Result<Vec<u8>, StoreError> {
        let got = self.inner.get_version(key, version).await?;
        if keys::parse_original(key).is_some() {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.bytes
                .fetch_add(got.len() as u64, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(got)
    }
    async fn get_range(
        &self,
        key: &str,
        version: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>, StoreError> {
        let got = self.inner.get_range(key, version, range).await?;
        if keys::parse_original(key).is_some() {
            self.bytes
                .fetch_add(got.len() as u64, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(got)
    }
}

/// Each page of a multi-page TIFF reads only its own part of the original (its directory,
/// the values it points at, its strips), not the whole file: the pages together read
/// about the file once, where each reading it whole would read it once per page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiff_page_reads_only_its_part_of_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("fax-bundle.tif");
    let pages = 8u32;
    let mut bytes = Vec::new();
    {
        let mut enc = tiff::encoder::TiffEncoder::new(Cursor::new(&mut bytes)).unwrap();
        for i in 0..pages {
            let (w, h) = (400 + 20 * i, 500);
            let data: Vec<u8> = (0..w * h).map(|p| ((p * 7 + i * 31) % 251) as u8).collect();
            enc.write_image::<tiff::encoder::colortype::Gray8>(w, h, &data)
                .unwrap();
        }
    }
    let size = bytes.len() as u64;
    std::fs::write(&tif, &bytes).unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
    let store = Arc::new(CountsOriginalReads {
        inner: rt.objects.clone(),
        forget_work: false,
        reads: Default::default(),
        bytes: Default::default(),
    });
    let engine = Arc::new(SmallImagesOnly {
        max: usize::MAX,
        sent: Default::default(),
    });
    let outcome = run_ready(&rt, store.clone(), engine.clone(), &tif).await;
    assert_eq!(outcome.record.pages, pages);
    assert_eq!(engine.sent.lock().unwrap().len(), pages as usize);
    // Inspect reads the original whole, once; no page does.
    assert_eq!(store.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The pages read the file about once between them (each its own part, plus a little
    // around its directory), where reading it whole would read it once per page.
    let by_pages = store.bytes.load(std::sync::atomic::Ordering::SeqCst) - size;
    assert!(
        by_pages <= size + pages as u64 * 100 * 1024,
        "the pages read {by_pages} bytes of a {size}-byte original ({} if each read it whole)",
        size * pages as u64
    );
}

/// A born-digital PDF page is read from its original once: the render step reads its
/// text layer from the bytes it decodes the page from, and the OCR step uses that. When
/// that intermediate is gone, the OCR step reads the original again, with the same result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_page_reads_its_original_once() {
    let pdf = medidocs_tests::samples_dir().join("documents/discharge-summary.pdf");
    let mut seen = Vec::new();
    for forget_work in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
        let store = Arc::new(CountsOriginalReads {
            inner: rt.objects.clone(),
            forget_work,
            reads: Default::default(),
            bytes: Default::default(),
        });
        let engine = Arc::new(SmallImagesOnly {
            max: usize::MAX,
            sent: Default::default(),
        });
        let outcome = run_ready(&rt, store.clone(), engine.clone(), &pdf).await;
        let pages = outcome.record.pages as usize;
        assert_eq!(outcome.record.text_source, Some(TextSource::TextLayer));
        assert!(
            engine.sent.lock().unwrap().is_empty(),
            "a text page was OCRed"
        );
        let reads = store.reads.load(std::sync::atomic::Ordering::SeqCst);
        // Inspect reads it once; then each page once, or twice without the intermediate.
        let per_page = if forget_work { 2 } else { 1 };
        assert_eq!(reads, 1 + pages * per_page, "forget_work={forget_work}");
        let text_key = outcome.record.text_key.clone().unwrap();
        seen.push(rt.objects.get(&text_key).await.unwrap());
    }
    assert_eq!(seen[0], seen[1], "the same text either way");
}

/// An OCR engine that reads the same words on every page.
struct Reads(&'static str);

#[async_trait]
impl OcrEngine for Reads {
    fn name(&self) -> &str {
        "reads"
    }
    async fn recognize(&self, _png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        use medidocs_core::ocr::{BoundingBox, Word};
        let words = self
            .0
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| Word {
                text: w.into(),
                confidence: 90.0,
                bbox: BoundingBox {
                    left: 0.05 + 0.1 * i as f32,
                    top: 0.5,
                    width: 0.08,
                    height: 0.02,
                },
            })
            .collect::<Vec<_>>();
        Ok(OcrPage {
            page,
            text_source: TextSource::Ocr,
            rotation: 0,
            language: None,
            lines: if words.is_empty() {
                vec![]
            } else {
                vec![medidocs_core::ocr::Line::from_words(words)]
            },
        })
    }
}

/// A PDF page whose text layer is short but real (only a page number) is OCRed too: its
/// layer is kept, and what OCR reads elsewhere on the page (a scan with a printed page
/// number) is added to it. A heading of 16 characters or more stands for its page
/// whatever OCR would read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_text_layer_is_kept_and_ocr_adds_what_it_does_not_read() {
    let corpus = medidocs_tests::corpus_dir().join("pdf");
    for (file, layer, short) in [
        ("page-number-only.pdf", "3", true),
        ("heading-only.pdf", "Discharge summary", false),
    ] {
        for (ocr, reads_more) in [
            ("", false),
            (
                "3 The letter goes on for many more words than its layer",
                true,
            ),
        ] {
            let merged = short && reads_more;
            let dir = tempfile::tempdir().unwrap();
            let rt = LocalRuntime::open(LocalConfig::new(dir.path().join("data"))).unwrap();
            let steps = Steps::new(
                rt.objects.clone(),
                rt.meta.clone(),
                Arc::new(Reads(ocr)),
                rt.config.limits,
                2,
            );
            let outcome = Runner::new(steps, Arc::new(SystemClock))
                .run(&rt.ingest(&corpus.join(file), "p1").await.unwrap())
                .await
                .unwrap();
            let doc = outcome.record;
            assert_eq!(doc.status, Status::Ready, "{file}: {:?}", doc.reason);
            let text = medidocs_tests::read_text(rt.objects.as_ref(), &doc).await;
            if merged {
                assert_eq!(doc.text_source, Some(TextSource::Ocr), "{file}");
                assert!(text.contains("many more words"), "{file}: {text:?}");
                // The layer's own "3" (at the foot of the page) stays, above OCR's words
                // or below them as the page has it.
                assert_eq!(
                    text.trim_end().lines().last(),
                    Some(layer),
                    "{file}: {text:?}"
                );
            } else {
                assert_eq!(doc.text_source, Some(TextSource::TextLayer), "{file}");
                assert_eq!(text.trim(), layer, "{file}");
            }
        }
    }
}
