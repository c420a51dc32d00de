//! Searching documents in the search index: one patient's, or every patient the caller
//! may read (a doctor's care teams).

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use medidocs_core::access::{self, Action, Outcome, Principal, Role, Rule};
use medidocs_core::search;

use super::documents::{days_param, query_limit, type_param};
use super::{AppState, Verified, audit, authorize, caller, patient_id};
use crate::App;
use crate::problem::Problem;
use crate::views::*;

const QUERY_DOC: &str = "Words and \"quoted phrases\". A document matches when it holds every \
    word and phrase: a word as written (accents and case aside), by its English, French or \
    Spanish stem, as the start of a longer word (from 3 letters, or ending in *), or from 5 \
    letters with one OCR error";

#[utoipa::path(get, path = "/v1/patients/{patient_id}/search", tag = "documents",
    security(("bearer" = [])),
    params(("patient_id" = String, Path),
        ("q" = String, Query, description = QUERY_DOC),
        ("type" = Option<String>, Query, description = "Only documents of this type"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or later"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or earlier"),
        ("limit" = Option<usize>, Query, description = "1 to 100; default 20")),
    responses((status = 200, body = SearchResults), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(crate) async fn search(
    State(app): AppState,
    Path(pid): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<SearchResults>, Problem> {
    // Authorised before the query is read: an attempt on another patient's records is
    // refused (and on record) whatever it asked.
    let who = caller(&app, &headers, &claims, Action::Search, Some(&pid), None).await?;
    patient_id(&pid)?;
    authorize(&app, &who, Action::Search, &pid, None).await?;
    let request = request_of(&q, vec![pid])?;
    answer(&app, &q, &request).await
}

#[utoipa::path(get, path = "/v1/search", tag = "documents",
    security(("bearer" = [])),
    params(("q" = String, Query, description = QUERY_DOC),
        ("type" = Option<String>, Query, description = "Only documents of this type"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or later"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD: only documents dated this day or earlier"),
        ("limit" = Option<usize>, Query, description = "1 to 100; default 20")),
    responses((status = 200, description = "The best documents of every patient the caller may read: a patient their own, a doctor or staff member their care teams' patients", body = SearchResults),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
pub(crate) async fn search_all(
    State(app): AppState,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    claims: Verified,
) -> Result<Json<SearchResults>, Problem> {
    let who = caller(&app, &headers, &claims, Action::Search, None, None).await?;
    let request = request_of(&q, readable_patients(&app, &who).await?)?;
    let answer = answer(&app, &q, &request).await?;
    // Every patient whose documents are in the answer is on record; a search that found
    // nothing is on record once, without a patient.
    let shown: BTreeSet<&str> = answer
        .results
        .iter()
        .map(|r| r.patient_id.as_str())
        .collect();
    if shown.is_empty() {
        audit(
            &app,
            Some(&who),
            Action::Search.as_str(),
            None,
            None,
            Outcome::Allowed,
            None,
        )
        .await?;
    }
    for pid in shown {
        audit(
            &app,
            Some(&who),
            Action::Search.as_str(),
            Some(pid),
            None,
            Outcome::Allowed,
            None,
        )
        .await?;
    }
    Ok(answer)
}

/// The patients whose documents a caller may search: a patient's own; a doctor's or a
/// staff member's care teams' (the rule decides each, as it would one at a time).
async fn readable_patients(app: &App, who: &Principal) -> Result<Vec<String>, Problem> {
    let candidates = match who.role {
        Role::Patient => vec![who.sub.clone()],
        Role::Doctor | Role::Staff => app.access.member_patients(&who.sub).await?,
    };
    Ok(candidates
        .into_iter()
        .filter(|p| match access::rule(who, Action::Search, p) {
            Rule::Allow => true,
            // Listed by the care-team index: the caller is a member.
            Rule::IfOnCareTeam => access::decide(who, Action::Search, p, true).is_ok(),
            Rule::Deny(_) => false,
        })
        .collect())
}

fn request_of(
    q: &HashMap<String, String>,
    patients: Vec<String>,
) -> Result<search::SearchRequest, Problem> {
    let text = q.get("q").map(|s| s.trim()).unwrap_or_default();
    let query = search::Query::parse(text)
        .map_err(|e| Problem::bad_request("invalid_query", format!("q: {e}")))?;
    let (from, to) = days_param(q)?;
    Ok(search::SearchRequest {
        query,
        patients,
        filter: search::Filter {
            doc_type: type_param(q)?,
            from,
            to,
        },
        limit: query_limit(q, 20, search::MAX_RESULTS)?,
    })
}

async fn answer(
    app: &App,
    q: &HashMap<String, String>,
    request: &search::SearchRequest,
) -> Result<Json<SearchResults>, Problem> {
    let found = app.search.search(request).await?;
    Ok(Json(SearchResults {
        query: q.get("q").map(|s| s.trim()).unwrap_or_default().to_string(),
        total: found.total,
        results: found.matches.into_iter().map(SearchResult::from).collect(),
    }))
}
