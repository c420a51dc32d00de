/// Why a document cannot be processed. Each case has a stable machine-readable code
/// ([`MediaError::code`]) that ends up in the document's `reason.code`; the message is for
/// people and never contains document content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("unsupported file type: {0}; accepted are PDF, JPEG, PNG, TIFF, WebP and HEIC/HEIF")]
    UnsupportedType(String),
    #[error("the file is {bytes} bytes, more than the limit of {limit} bytes")]
    TooLarge { bytes: u64, limit: u64 },
    #[error(
        "page {page} is {width}×{height} pixels ({} megapixels), more than the limit of {} megapixels",
        (*width as u64 * *height as u64) / 1_000_000, limit / 1_000_000
    )]
    TooManyPixels {
        page: u32,
        width: u32,
        height: u32,
        limit: u64,
    },
    #[error("the document has {pages} pages, more than the limit of {limit}")]
    TooManyPages { pages: u64, limit: u32 },
    #[error("the document is password-protected or encrypted and cannot be read")]
    Encrypted,
    #[error("the file is damaged or truncated: {0}")]
    Corrupt(String),
}

impl MediaError {
    /// The stable reason code stored with a rejected document.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty => "empty",
            MediaError::UnsupportedType(_) => "unsupported_type",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::TooManyPixels { .. } => "too_many_pixels",
            MediaError::TooManyPages { .. } => "too_many_pages",
            MediaError::Encrypted => "encrypted",
            MediaError::Corrupt(_) => "corrupt",
        }
    }

    pub(crate) fn corrupt(kind: &str, e: impl std::fmt::Display) -> Self {
        MediaError::Corrupt(format!("{kind}: {e}"))
    }
}
