//! What leaves the pipeline besides the documents themselves: logs at the most detailed
//! level name no patient, no file and no word of the extracted text, and renditions carry
//! no EXIF, GPS or XMP metadata even when the upload does.

use std::path::PathBuf;
use std::process::Command;

use medidocs_testkit::files_under;

fn samples() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents")
}

/// A JPEG segment: marker, big-endian length, payload.
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// `photo` with an EXIF block holding a GPS position and a camera owner's name, and an XMP
/// packet, inserted after its SOI marker.
fn with_location_metadata(photo: &[u8]) -> Vec<u8> {
    // Little-endian TIFF: IFD0 with Artist and a GPS IFD pointer; the GPS IFD with
    // latitude reference N and latitude 53/1 20/1 0/1 (Dublin).
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let artist = b"Patient Jane Murphy\0";
    let ifd0_len = 2 + 2 * 12 + 4;
    let artist_at = 8 + ifd0_len;
    let gps_at = artist_at + artist.len();
    tiff.extend_from_slice(&2u16.to_le_bytes());
    // Artist (0x013B), ASCII.
    tiff.extend_from_slice(&0x013Bu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&(artist.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&(artist_at as u32).to_le_bytes());
    // GPSInfo (0x8825), LONG offset.
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&(gps_at as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(artist);
    let rationals_at = gps_at + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // GPSLatitudeRef
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&2u16.to_le_bytes()); // GPSLatitude
    tiff.extend_from_slice(&5u16.to_le_bytes());
    tiff.extend_from_slice(&3u32.to_le_bytes());
    tiff.extend_from_slice(&(rationals_at as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(53u32, 1u32), (20, 1), (0, 1)] {
        tiff.extend_from_slice(&n.to_le_bytes());
        tiff.extend_from_slice(&d.to_le_bytes());
    }
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(
        br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="53,20.0N"/></rdf:RDF></x:xmpmeta>"#,
    );
    let mut out = photo[..2].to_vec();
    out.extend(segment(0xE1, &exif));
    out.extend(segment(0xE1, &xmp));
    out.extend_from_slice(&photo[2..]);
    out
}

#[test]
fn trace_logs_name_no_patient_file_or_text_and_renditions_carry_no_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("Murphy-Jane-discharge");
    std::fs::create_dir_all(&inbox).unwrap();
    let photo =
        with_location_metadata(&std::fs::read(samples().join("prescription-photo.jpg")).unwrap());
    std::fs::write(inbox.join("jane-murphy-prescription.jpg"), &photo).unwrap();
    std::fs::copy(
        samples().join("discharge-summary.pdf"),
        inbox.join("jane-murphy-discharge.pdf"),
    )
    .unwrap();
    std::fs::copy(
        samples().join("referral-letter-g4.tif"),
        inbox.join("jane-murphy-referral.tif"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let patient = "p-murphy-4711";
    let out = Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .args(["--log", "trace", "--data-dir"])
        .arg(&data)
        .arg("run")
        .arg(&inbox)
        .args(["--patient", patient])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = String::from_utf8_lossy(&out.stderr).to_string();
    // The run did log, at every level down to TRACE.
    assert!(logs.lines().count() > 20, "{logs}");
    assert!(logs.contains("TRACE") || logs.contains("trace"), "{logs}");

    // Every word of 6 letters or more of the extracted text, the patient id, and every
    // part of the file and folder names.
    let mut secrets: Vec<String> = vec![
        patient.into(),
        "murphy".into(),
        "Murphy".into(),
        "jane".into(),
    ];
    let mut texts = 0;
    for f in files_under(&data) {
        if f.file_name().is_some_and(|n| n == "text.txt") {
            texts += 1;
            let text = std::fs::read_to_string(&f).unwrap();
            secrets.extend(
                text.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 6)
                    .map(str::to_string),
            );
        }
    }
    assert_eq!(texts, 3, "three documents read");
    assert!(secrets.len() > 30, "{secrets:?}");
    let leaks: Vec<&String> = secrets
        .iter()
        .filter(|s| logs.contains(s.as_str()))
        .collect();
    assert!(leaks.is_empty(), "the logs contain {leaks:?}");

    // No rendition, nor the searchable PDF made from them, carries EXIF, GPS or XMP,
    // though the photo had all three.
    let mut renditions = 0;
    for f in files_under(&data.join("objects/artefacts")) {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !["jpg", "png", "webp", "pdf"].contains(&ext) {
            continue;
        }
        renditions += 1;
        let bytes = std::fs::read(&f).unwrap();
        for marker in [
            &b"Exif\0\0"[..],
            b"http://ns.adobe.com/xap",
            b"xmpmeta",
            b"GPS",
            b"Jane Murphy",
            b"eXIf",
            b"EXIF",
            b"XMP ",
        ] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker),
                "{} carries {:?}",
                f.display(),
                String::from_utf8_lossy(marker)
            );
        }
    }
    assert!(renditions >= 3 * 3, "{renditions} renditions");
    // The original is kept as uploaded (with its metadata): that is the record.
    let originals: Vec<PathBuf> = files_under(&data.join("objects/uploads"));
    assert!(originals.iter().any(|o| std::fs::read(o).unwrap() == photo));
}
