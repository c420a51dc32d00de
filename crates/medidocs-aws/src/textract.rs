//! Amazon Textract as the pipeline's OCR.
//!
//! - [`OcrEngine::recognize`]: one page image (the `ocr` rendition, a grey PNG) through
//!   DetectDocumentText. Its 10 MB limit is [`OcrEngine::max_image_bytes`]: the OCR step
//!   reduces larger images (a 24 MP photo's is about 17 MB) before they are sent.
//! - Multi-page PDF and TIFF originals: [`TextractOcr::start_text_detection`] starts an
//!   asynchronous job on the S3 object (StartDocumentTextDetection, idempotent through a
//!   ClientRequestToken derived from the document id), [`TextractOcr::job_status`] polls
//!   it, and [`TextractOcr::collect`] reads every NextToken page of the results
//!   (GetDocumentTextDetection). The waiting between polls belongs to the state machine
//!   (Wait states), not to a Lambda billed while it sleeps; [`TextractOcr::recognize_document`]
//!   does the whole cycle with back-off for callers that can wait.
//!
//! Responses are normalised by `medidocs_core::textract` into the model Tesseract's
//! adapter produces. Throttling (`ThrottlingException`,
//! `ProvisionedThroughputExceededException`, `LimitExceededException`) becomes
//! [`OcrError::Throttled`], which the steps report as `Medidocs.Throttled`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_textract::Client;
use aws_sdk_textract::config::http::HttpResponse;
use aws_sdk_textract::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_textract::primitives::Blob;
use aws_sdk_textract::types::{Document, DocumentLocation, JobStatus, S3Object};
use medidocs_core::ocr::{OcrDocument, OcrPage};
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_core::textract::{
    self, Block, DocumentMetadata, Geometry, Relationship, Response, TextractBox, TextractPoint,
};

use crate::error::{Kind, describe, kind};

/// DetectDocumentText's limit for bytes sent inline.
pub const SYNC_MAX_BYTES: usize = 10 * 1024 * 1024;
/// DetectDocumentText's largest image side, in pixels.
pub const SYNC_MAX_SIDE: u32 = 10_000;

#[derive(Clone)]
pub struct TextractOcr {
    client: Client,
}

/// Where an asynchronous job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    InProgress,
    Succeeded,
    Failed(String),
}

fn ocr_error<E>(what: &str, e: SdkError<E, HttpResponse>) -> OcrError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = match &e {
        SdkError::ServiceError(s) => s.err().code().map(str::to_string),
        _ => None,
    };
    match (kind(&e), code.as_deref()) {
        (Kind::Throttled, _) => OcrError::Throttled {
            source: Box::new(e),
        },
        (
            _,
            Some(
                "InvalidParameterException"
                | "UnsupportedDocumentException"
                | "BadDocumentException"
                | "DocumentTooLargeException"
                | "InvalidS3ObjectException",
            ),
        ) => OcrError::InvalidInput {
            what: format!("{what}: {}", describe(&e)),
        },
        _ => OcrError::Unavailable {
            what: format!("{what}: {}", describe(&e)),
            source: Some(Box::new(e)),
        },
    }
}

/// The SDK's blocks in the shape the normaliser reads.
fn blocks(sdk: &[aws_sdk_textract::types::Block]) -> Vec<Block> {
    sdk.iter()
        .map(|b| Block {
            block_type: b
                .block_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            id: b.id().unwrap_or_default().to_string(),
            text: b.text().map(str::to_string),
            confidence: b.confidence(),
            page: b.page().map(|p| p.max(0) as u32),
            geometry: b.geometry().map(|g| Geometry {
                bounding_box: g.bounding_box().map(|bb| TextractBox {
                    left: bb.left(),
                    top: bb.top(),
                    width: bb.width(),
                    height: bb.height(),
                }),
                polygon: g
                    .polygon()
                    .iter()
                    .map(|p| TextractPoint { x: p.x(), y: p.y() })
                    .collect(),
            }),
            relationships: Some(
                b.relationships()
                    .iter()
                    .map(|r| Relationship {
                        r#type: r
                            .r#type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                        ids: r.ids().to_vec(),
                    })
                    .collect(),
            ),
        })
        .collect()
}

/// A ClientRequestToken (1–64 of `[a-zA-Z0-9-_]`): the same document never starts two jobs.
fn request_token(document_id: &str) -> String {
    let t: String = document_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if t.is_empty() { "document".into() } else { t }
}

impl TextractOcr {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Starts (or, for a document already started, finds again) the text-detection job on
    /// an S3 object; returns the job id.
    pub async fn start_text_detection(
        &self,
        document_id: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<String, OcrError> {
        let out = self
            .client
            .start_document_text_detection()
            .document_location(
                DocumentLocation::builder()
                    .s3_object(
                        S3Object::builder()
                            .bucket(bucket)
                            .name(key)
                            .set_version(version.map(str::to_string))
                            .build(),
                    )
                    .build(),
            )
            .client_request_token(request_token(document_id))
            .job_tag(request_token(document_id))
            .send()
            .await
            .map_err(|e| ocr_error(&format!("document {document_id}"), e))?;
        out.job_id()
            .map(str::to_string)
            .ok_or_else(|| OcrError::Unavailable {
                what: "Textract returned no job id".into(),
                source: None,
            })
    }

    pub async fn job_status(&self, job_id: &str) -> Result<JobState, OcrError> {
        let out = self
            .client
            .get_document_text_detection()
            .job_id(job_id)
            .max_results(1)
            .send()
            .await
            .map_err(|e| ocr_error(&format!("job {job_id}"), e))?;
        Ok(match out.job_status() {
            Some(JobStatus::Succeeded | JobStatus::PartialSuccess) => JobState::Succeeded,
            Some(JobStatus::InProgress) | None => JobState::InProgress,
            Some(other) => JobState::Failed(format!(
                "{}: {}",
                other.as_str(),
                out.status_message().unwrap_or("no message")
            )),
        })
    }

    /// Every page of a finished job's results, normalised.
    pub async fn collect(&self, job_id: &str) -> Result<OcrDocument, OcrError> {
        let mut responses = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get_document_text_detection()
                .job_id(job_id)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| ocr_error(&format!("job {job_id}"), e))?;
            responses.push(Response {
                blocks: blocks(out.blocks()),
                document_metadata: out.document_metadata().map(|m| DocumentMetadata {
                    pages: m.pages().map(|p| p.max(0) as u32),
                }),
                next_token: out.next_token().map(str::to_string),
                job_status: out.job_status().map(|s| s.as_str().to_string()),
                status_message: out.status_message().map(str::to_string),
            });
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        textract::normalize(&responses).map_err(|e| OcrError::Unavailable {
            what: format!("job {job_id}: {e}"),
            source: None,
        })
    }

    /// Start, wait (1 s, doubling to 30 s between polls, at most `limit`), collect.
    pub async fn recognize_document(
        &self,
        document_id: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        limit: Duration,
    ) -> Result<OcrDocument, OcrError> {
        let job = self
            .start_text_detection(document_id, bucket, key, version)
            .await?;
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_secs(1);
        loop {
            match self.job_status(&job).await? {
                JobState::Succeeded => return self.collect(&job).await,
                JobState::Failed(why) => {
                    return Err(OcrError::InvalidInput {
                        what: format!("document {document_id}: {why}"),
                    });
                }
                JobState::InProgress if started.elapsed() + delay > limit => {
                    return Err(OcrError::Unavailable {
                        what: format!("job {job} still running after {} s", limit.as_secs()),
                        source: None,
                    });
                }
                JobState::InProgress => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

#[async_trait]
impl OcrEngine for TextractOcr {
    fn name(&self) -> &str {
        "textract"
    }

    fn max_image_bytes(&self) -> Option<usize> {
        Some(SYNC_MAX_BYTES)
    }

    fn max_image_side(&self) -> Option<u32> {
        Some(SYNC_MAX_SIDE)
    }

    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        if png.len() > SYNC_MAX_BYTES {
            return Err(OcrError::InvalidInput {
                what: format!(
                    "page {page} is {} bytes, over Textract's synchronous limit",
                    png.len()
                ),
            });
        }
        let out = self
            .client
            .detect_document_text()
            .document(Document::builder().bytes(Blob::new(png.to_vec())).build())
            .send()
            .await
            .map_err(|e| ocr_error(&format!("page {page}"), e))?;
        let response = Response {
            blocks: blocks(out.blocks()),
            ..Response::default()
        };
        let doc = textract::normalize(&[response]).map_err(|e| OcrError::Unavailable {
            what: format!("page {page}: {e}"),
            source: None,
        })?;
        let mut p = doc.pages.into_iter().next().unwrap_or(OcrPage {
            page,
            text_source: medidocs_core::model::TextSource::Ocr,
            rotation: 0,
            language: None,
            lines: Vec::new(),
        });
        p.page = page;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::request_token;

    #[test]
    fn request_tokens_are_textract_safe() {
        assert_eq!(request_token("0a1b2c3d4e5f"), "0a1b2c3d4e5f");
        assert_eq!(request_token("a/b c"), "abc");
        assert_eq!(request_token(&"x".repeat(100)).len(), 64);
        assert_eq!(request_token("//"), "document");
    }
}
