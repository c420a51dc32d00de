//! The OpenAPI document, generated from the handlers' annotations and the view types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers;
use crate::problem::Problem;
use crate::views::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Medi-Advice documents API",
        version = "1",
        description = "Upload patients' documents, follow their processing, read their extracted \
            text and renditions, and search them. Every request carries a bearer token; errors are \
            application/problem+json with a stable `code`."
    ),
    paths(
        handlers::health,
        handlers::openapi,
        handlers::me,
        handlers::create_upload,
        handlers::receive_upload,
        handlers::list_documents,
        handlers::get_document,
        handlers::retry_document,
        handlers::get_text,
        handlers::get_pages,
        handlers::get_rendition,
        handlers::search,
    ),
    components(schemas(
        Problem, Health, Me, UploadRequest, UploadTarget, Received, DocumentList, DocumentView,
        RenditionView, RenditionLink, ReasonView, PagesView, PageView, LineView, WordView, BoxView,
        SearchResults, SearchResult, SearchHit, Retrying
    )),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as JSON.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}
