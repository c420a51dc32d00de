//! OCR against the public corpus: tesseract-ocr's phototest page and its rotated copies
//! (tests/corpus/ocr), graded by character error rate against the ground truth.

use medidocs_core::model::Status;
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::ObjectStore;
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_testkit::cer;
use medidocs_tests::corpus_dir;

const MAX_CER_SCAN: f64 = 0.08;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phototest_and_its_rotations_read_within_budget() {
    let ocr_dir = corpus_dir().join("ocr");
    let truth =
        std::fs::read_to_string(ocr_dir.join("phototest.gold.txt")).expect("corpus ground truth");
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let runner = rt.runner();
    // (file, clockwise turn needed to read it upright)
    for (file, rotation) in [
        ("phototest.tif", 0),
        ("phototest-rotated-L.png", 90),
        ("phototest-rotated-R.png", 270),
    ] {
        let src = rt.ingest(&ocr_dir.join(file), "corpus").await.unwrap();
        let doc = runner.run(&src).await.unwrap().record;
        assert_eq!(doc.status, Status::Ready, "{file}: {:?}", doc.reason);
        let text = medidocs_tests::read_text(rt.objects.as_ref(), &doc).await;
        let rate = cer(&text, &truth);
        println!("{file}: CER {:.2}%", rate * 100.0);
        assert!(
            rate <= MAX_CER_SCAN,
            "{file}: CER {:.2}%\n{text}",
            rate * 100.0
        );
        let ocr: OcrDocument =
            serde_json::from_slice(&rt.objects.get(doc.ocr_key.as_ref().unwrap()).await.unwrap())
                .unwrap();
        assert_eq!(ocr.pages[0].rotation, rotation, "{file}: detected rotation");
    }
}
