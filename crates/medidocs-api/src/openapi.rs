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
        handlers::service::health,
        handlers::service::openapi,
        handlers::service::me,
        handlers::uploads::create_upload,
        handlers::uploads::receive_upload,
        handlers::documents::list_documents,
        handlers::documents::get_document,
        handlers::documents::retry_document,
        handlers::documents::file_document,
        handlers::documents::get_text,
        handlers::documents::get_pages,
        handlers::documents::get_rendition,
        handlers::documents::get_pdf,
        handlers::fhir::get_reference,
        handlers::fhir::search_references,
        handlers::search::search,
        handlers::search::search_all,
    ),
    components(schemas(
        Problem, Health, Me, UploadRequest, UploadTarget, Received, DocumentList, DocumentView,
        RenditionView, TypeView, DateView, RenditionLink, ReasonView, PagesView, PageView, LineView, WordView, BoxView,
        SearchResults, SearchResult, SearchHit, Retrying, Filing
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
