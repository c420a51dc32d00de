//! The simulated uploads: small but real files, so the real inspection, planning and
//! rendering run on them (their time is the model's, not the machine's).

/// A PDF of `pages` blank 12 × 12 pt pages; `tag` makes its bytes (and hash) its own.
pub fn pdf(pages: u32, tag: u64) -> Vec<u8> {
    let pages = pages.max(1) as usize;
    let mut out = format!("%PDF-1.4\n% simulated document {tag:016x}\n").into_bytes();
    let mut offsets = Vec::new();
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    ];
    objects.extend(
        (0..pages).map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 12 12] >>".to_string()),
    );
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A file the pipeline never accepts (a GIF): REJECTED as `unsupported_type`.
pub fn unsupported(tag: u64) -> Vec<u8> {
    let mut v = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    v.extend_from_slice(&tag.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use medidocs_media::{self as media, Limits};

    #[test]
    fn the_simulated_files_are_what_the_inspection_says() {
        for pages in [1, 2, 20] {
            let bytes = pdf(pages, 42);
            let i = media::inspect(&bytes, &Limits::default()).unwrap();
            assert_eq!(i.mime, media::Mime::Pdf);
            assert_eq!(i.pages, pages);
            let page = media::decode_page(&bytes, i.mime, pages - 1, &Limits::default()).unwrap();
            assert!(!media::render_renditions(page).unwrap().is_empty());
        }
        assert_ne!(pdf(2, 1), pdf(2, 2));
        let e = media::inspect(&unsupported(1), &Limits::default()).unwrap_err();
        assert_eq!(e.code(), "unsupported_type");
    }
}
