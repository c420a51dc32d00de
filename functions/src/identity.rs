//! The identity sync function: copies this region's accounts to the other region's user
//! pool (`core::identity`), so that at a failover every doctor, patient and member of
//! staff can sign in there with the same Medi-Advice id, with a code sent to their e-mail
//! and no administrator (docs/dr-runbook.md, "Identity").
//!
//! Settings: `USER_POOL_ID` (this region's pool), `PEER_USER_POOL_ID` and `PEER_REGION`
//! (the other region's; empty in a deployment of one region: the function then does
//! nothing), `AWS_REGION`; `SYNC_BUDGET` (the most changes a run makes, default
//! [`DEFAULT_BUDGET`]) and `SYNC_RATE` (the most calls a second to each pool, default
//! [`DEFAULT_RATE`]). It runs on a schedule and when an account changes; the template
//! gives it a reserved concurrency of 1, so two runs never overlap.

use std::sync::Arc;

use aws_config::Region;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use medidocs_aws::clients;
use medidocs_aws::cognito::CognitoDirectory;
use medidocs_core::identity::{SyncReport, sync};
use serde_json::{Value, json};

use crate::{ConfigError, init_logging, required};

/// The most changes one run makes: at [`DEFAULT_RATE`] a copy takes about four calls
/// (create, confirm, a group, with reads besides), so 1,500 copies fit well inside the
/// function's 15-minute limit; a first sync of a larger pool finishes over several runs.
pub const DEFAULT_BUDGET: usize = 1_500;
/// Calls a second to each pool: well under the smallest Cognito quota the sync's calls
/// fall in (25 a second, fixed; docs/dr-runbook.md), which sign-ins and the clinic's own
/// administration share.
pub const DEFAULT_RATE: f64 = 10.0;
/// Time a run keeps for itself before its invocation's deadline: it makes no change
/// after that, so it always ends in time to report.
pub const DEADLINE_MARGIN_MS: u64 = 60_000;

/// The settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    pub region: String,
    pub pool: String,
    /// The other region's pool and region; `None` in a deployment of one region.
    pub peer: Option<(String, String)>,
    pub budget: usize,
    pub rate: f64,
}

impl SyncSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let region = required(&lookup, "AWS_REGION")?;
        let pool = required(&lookup, "USER_POOL_ID")?;
        let peer_pool = lookup("PEER_USER_POOL_ID").filter(|v| !v.trim().is_empty());
        let peer = match peer_pool {
            Some(p) => Some((p.trim().to_string(), required(&lookup, "PEER_REGION")?)),
            None => None,
        };
        let budget = match crate::number(&lookup, "SYNC_BUDGET")? {
            Some(n) => n as usize,
            None => DEFAULT_BUDGET,
        };
        let rate = match lookup("SYNC_RATE") {
            None => DEFAULT_RATE,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0 && r.is_finite())
                .ok_or_else(|| ConfigError::Invalid {
                    name: "SYNC_RATE",
                    why: format!("{v:?} is not a number of calls a second above 0"),
                })?,
        };
        Ok(SyncSettings {
            region,
            pool,
            peer,
            budget,
            rate,
        })
    }
}

/// What a run reports: counts, and the opaque ids of the accounts in conflict (never a
/// username or an e-mail).
pub fn report_json(report: &SyncReport) -> Value {
    json!({
        "home_accounts": report.home_accounts,
        "other_accounts": report.other_accounts,
        "applied": report.applied,
        "failed": report.failed,
        "deferred": report.deferred,
        "conflicts": report.conflicts,
        "conflict_ids": report.conflict_ids,
    })
}

/// The main of the identity sync function.
pub async fn serve_identity_sync() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let settings = SyncSettings::from_lookup(|k| std::env::var(k).ok())?;
    let sdk = clients::from_env().await;
    let home = Arc::new(CognitoDirectory::new(
        clients::cognito(&sdk),
        &settings.pool,
        settings.rate,
    ));
    let other = match &settings.peer {
        Some((pool, region)) => {
            let peer_sdk = sdk.to_builder().region(Region::new(region.clone())).build();
            Some(Arc::new(CognitoDirectory::new(
                clients::cognito(&peer_sdk),
                pool,
                settings.rate,
            )))
        }
        None => None,
    };
    let settings = Arc::new(settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (home, other, settings) = (home.clone(), other.clone(), settings.clone());
        async move {
            let Some(other) = other else {
                return Ok::<Value, Diagnostic>(json!({ "skipped": "no peer user pool" }));
            };
            let deadline = event.context.deadline;
            let keep_going = move || {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                now + DEADLINE_MARGIN_MS < deadline
            };
            let report = sync(
                &settings.region,
                home.as_ref(),
                other.as_ref(),
                settings.budget,
                &keep_going,
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the identity sync could not read a pool");
                Diagnostic {
                    error_type: "Medidocs.IdentitySyncFailed".into(),
                    error_message: e.to_string(),
                }
            })?;
            let out = report_json(&report);
            tracing::info!(report = %out, "identity sync");
            Ok(out)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_what_is_missing_and_a_single_region_needs_no_peer() {
        let single = SyncSettings::from_lookup(|k| match k {
            "AWS_REGION" => Some("eu-west-1".into()),
            "USER_POOL_ID" => Some("eu-west-1_abc".into()),
            "PEER_USER_POOL_ID" => Some(" ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(single.peer, None);
        assert_eq!(single.budget, DEFAULT_BUDGET);
        let missing = SyncSettings::from_lookup(|k| match k {
            "AWS_REGION" => Some("eu-west-1".into()),
            "USER_POOL_ID" => Some("eu-west-1_abc".into()),
            "PEER_USER_POOL_ID" => Some("us-east-1_xyz".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(missing.to_string().contains("PEER_REGION"), "{missing}");
        let bad = SyncSettings::from_lookup(|k| match k {
            "AWS_REGION" => Some("eu-west-1".into()),
            "USER_POOL_ID" => Some("eu-west-1_abc".into()),
            "SYNC_RATE" => Some("fast".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(bad.to_string().contains("SYNC_RATE"), "{bad}");
    }
}
