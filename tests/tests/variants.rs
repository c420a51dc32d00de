//! One page in the encodings scanners and phones produce (samples/variants): every one
//! decodes to the same readable page, colours right (CMYK not inverted, 16-bit not dark,
//! palettes expanded, 10-bit HEIC not dark), HEIC turned upright as its container says,
//! and transparency flattened onto white paper.

use medidocs_core::model::Status;
use medidocs_core::ports::ObjectStore;
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_tests::samples_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoding_gives_the_same_readable_page() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let runner = rt.runner();
    let mut files: Vec<_> = std::fs::read_dir(samples_dir().join("variants"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 17, "{} variants", files.len());
    let mut problems = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let doc = runner
            .run(&rt.ingest(f, "variants").await.unwrap())
            .await
            .unwrap()
            .record;
        if doc.status != Status::Ready {
            problems.push(format!("{name}: {:?} {:?}", doc.status, doc.reason));
            continue;
        }
        let text = medidocs_tests::read_text(rt.objects.as_ref(), &doc).await;
        if !text.contains("Blood pressure 128/82") {
            problems.push(format!("{name}: text {text:?}"));
        }
        let preview = doc.renditions.iter().find(|r| r.name == "preview").unwrap();
        let img = image::load_from_memory(&rt.objects.get(&preview.key).await.unwrap())
            .unwrap()
            .to_luma8();
        // The page is landscape: a HEIC stored turned (irot) is shown upright.
        let (w, h) = img.dimensions();
        if w <= h {
            problems.push(format!("{name}: preview {w}×{h}, expected landscape"));
        }
        // The right margin is paper (and, in the RGBA variants, fully transparent black).
        let margin: Vec<u8> = (w * 88 / 100..w)
            .flat_map(|x| (0..h).map(move |y| (x, y)))
            .map(|(x, y)| img.get_pixel(x, y)[0])
            .collect();
        let mean = margin.iter().map(|&v| v as f64).sum::<f64>() / margin.len() as f64;
        if mean < 235.0 {
            problems.push(format!(
                "{name}: margin mean luminance {mean:.0}, expected white paper"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
