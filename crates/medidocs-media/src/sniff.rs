use crate::MediaError;

/// The document types the pipeline accepts, identified from magic bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mime {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/tiff")]
    Tiff,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "image/heic")]
    Heic,
}

impl Mime {
    pub fn as_str(self) -> &'static str {
        match self {
            Mime::Pdf => "application/pdf",
            Mime::Jpeg => "image/jpeg",
            Mime::Png => "image/png",
            Mime::Tiff => "image/tiff",
            Mime::Webp => "image/webp",
            Mime::Heic => "image/heic",
        }
    }

    /// A short name for tables: `pdf`, `jpeg`, …
    pub fn short(self) -> &'static str {
        match self {
            Mime::Pdf => "pdf",
            Mime::Jpeg => "jpeg",
            Mime::Png => "png",
            Mime::Tiff => "tiff",
            Mime::Webp => "webp",
            Mime::Heic => "heic",
        }
    }

    pub fn parse(s: &str) -> Option<Mime> {
        [
            Mime::Pdf,
            Mime::Jpeg,
            Mime::Png,
            Mime::Tiff,
            Mime::Webp,
            Mime::Heic,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// Identifies the real type of a file from its first bytes. The file name and any
/// client-declared Content-Type are deliberately ignored.
pub fn sniff(bytes: &[u8]) -> Result<Mime, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Mime::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Mime::Png);
    }
    if b.starts_with(b"II*\0")
        || b.starts_with(b"MM\0*")
        || b.starts_with(b"II+\0")
        || b.starts_with(b"MM\0+")
    {
        return Ok(Mime::Tiff);
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Ok(Mime::Webp);
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        let brand = &b[8..12];
        const HEIF_BRANDS: [&[u8; 4]; 8] = [
            b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
        ];
        if HEIF_BRANDS.iter().any(|h| brand == *h) {
            return Ok(Mime::Heic);
        }
        return Err(MediaError::UnsupportedType(format!(
            "ISO media file with brand '{}' (video or AVIF)",
            String::from_utf8_lossy(brand).escape_default()
        )));
    }
    // PDF: the header may be preceded by up to 1024 bytes of junk (PDF 32000-1, 7.5.2 note).
    let head = &b[..b.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Mime::Pdf);
    }
    Err(MediaError::UnsupportedType(describe_unknown(b).to_string()))
}

fn describe_unknown(b: &[u8]) -> &'static str {
    if b.starts_with(b"MZ") {
        "a Windows executable"
    } else if b.starts_with(b"\x7fELF") {
        "a Linux executable"
    } else if b.starts_with(b"PK\x03\x04") || b.starts_with(b"PK\x05\x06") {
        "a ZIP archive (or an Office document)"
    } else if b.starts_with(b"GIF8") {
        "a GIF image"
    } else if b.starts_with(b"BM") {
        "a BMP image"
    } else if b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "a legacy Office document"
    } else if b.starts_with(&[0x1F, 0x8B]) {
        "a gzip archive"
    } else if b
        .iter()
        .take(512)
        .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        "plain text"
    } else {
        "unrecognised binary data"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], expect: Result<Mime, &str>) {
        match (sniff(bytes), expect) {
            (Ok(m), Ok(e)) => assert_eq!(m, e),
            (Err(err), Err(code)) => assert_eq!(err.code(), code, "{err}"),
            (got, want) => panic!("sniff gave {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn types_come_from_magic_bytes() {
        check(b"", Err("empty"));
        check(b"\xFF\xD8\xFF\xE0rest", Ok(Mime::Jpeg));
        check(b"\x89PNG\r\n\x1a\n....", Ok(Mime::Png));
        check(b"II*\0\x08\0\0\0", Ok(Mime::Tiff));
        check(b"MM\0*\0\0\0\x08", Ok(Mime::Tiff));
        check(b"RIFF\0\0\0\0WEBPVP8 ", Ok(Mime::Webp));
        check(b"\0\0\0\x18ftypheic\0\0\0\0", Ok(Mime::Heic));
        check(b"\0\0\0\x18ftypmif1\0\0\0\0", Ok(Mime::Heic));
        check(b"\0\0\0\x18ftypavif\0\0\0\0", Err("unsupported_type"));
        check(b"%PDF-1.7\n", Ok(Mime::Pdf));
        check(b"junk before\n%PDF-1.4\n", Ok(Mime::Pdf));
        check(b"MZ\x90\0\x03\0\0\0", Err("unsupported_type"));
        check(b"PK\x03\x04\x14\0", Err("unsupported_type"));
        check(b"hello, world", Err("unsupported_type"));
    }

    #[test]
    fn unsupported_type_message_says_what_it_is() {
        let e = sniff(b"MZ\x90\0").unwrap_err();
        assert!(e.to_string().contains("Windows executable"), "{e}");
    }
}
