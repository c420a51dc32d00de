//! Agreements between crates that do not depend on each other: what the API accepts is
//! what the pipeline reads.

use medidocs_media::Mime;

#[test]
fn every_accepted_upload_type_is_one_the_pipeline_reads() {
    for t in medidocs_api::UPLOAD_TYPES {
        // HEIF is the container HEIC files are: the same reader.
        let t = if t == "image/heif" { "image/heic" } else { t };
        assert!(Mime::parse(t).is_some(), "{t} is accepted but never read");
    }
}
