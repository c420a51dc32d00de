//! The cost of a run, per service, from what it counted and the dated price table kept
//! in the repository (`crates/medidocs-sim/prices.json`, eu-west-1 and us-east-1).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::usage::Usage;

pub const PRICES: &str = include_str!("../prices.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub as_of: String,
    pub regions: BTreeMap<String, RegionPrices>,
    pub stored_bytes_per_page: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RegionPrices {
    pub textract_per_page: f64,
    pub sfn_per_transition: f64,
    pub lambda_per_gb_second: f64,
    pub lambda_per_request: f64,
    pub sqs_per_request: f64,
    pub dynamodb_per_write_unit: f64,
    pub dynamodb_per_read_unit: f64,
    pub dynamodb_per_replicated_write_unit: f64,
    pub s3_per_put: f64,
    pub s3_per_get: f64,
    pub s3_per_gb_month: f64,
    pub s3_rtc_per_gb: f64,
    pub transfer_inter_region_per_gb: f64,
    pub eventbridge_per_event: f64,
    pub logs_per_gb: f64,
    pub kms_per_request: f64,
}

impl Prices {
    pub fn load() -> Result<Prices, String> {
        serde_json::from_str(PRICES).map_err(|e| format!("prices.json: {e}"))
    }

    /// Bytes stored per page, all objects together.
    pub fn bytes_per_page(&self) -> f64 {
        self.stored_bytes_per_page
            .values()
            .filter_map(|v| v.as_f64())
            .sum()
    }
}

/// The cost of `usage` (both regions' counts together) at one region's prices, per
/// service, for `pages` pages, scaled to 1,000 pages. Storage is the first month's, in
/// both regions, with its replication.
pub fn cost_per_1000_pages(
    usage: &Usage,
    pages: u64,
    p: &RegionPrices,
    bytes_per_page: f64,
) -> BTreeMap<String, f64> {
    let per = 1000.0 / pages.max(1) as f64;
    let gb = bytes_per_page * pages as f64 / 1e9;
    let kms_requests =
        (usage.s3_put + usage.s3_get) as f64 / 100.0 + usage.lambda_cold_starts as f64;
    let mut c = BTreeMap::new();
    c.insert(
        "textract",
        usage.textract_pages_billed as f64 * p.textract_per_page,
    );
    c.insert(
        "step_functions",
        usage.sfn_transitions as f64 * p.sfn_per_transition,
    );
    c.insert(
        "lambda",
        usage.lambda_gb_seconds * p.lambda_per_gb_second
            + usage.lambda_requests as f64 * p.lambda_per_request,
    );
    c.insert("sqs", usage.sqs_requests as f64 * p.sqs_per_request);
    c.insert(
        "dynamodb",
        usage.dynamodb_write_units * p.dynamodb_per_write_unit
            + usage.dynamodb_read_units * p.dynamodb_per_read_unit
            + usage.dynamodb_replicated_write_units * p.dynamodb_per_replicated_write_unit
            + usage.watchdog_read_units * p.dynamodb_per_read_unit,
    );
    c.insert(
        "s3_requests",
        usage.s3_put as f64 * p.s3_per_put + (usage.s3_get + usage.s3_list) as f64 * p.s3_per_get,
    );
    c.insert(
        "s3_storage_first_month_both_regions",
        2.0 * gb * p.s3_per_gb_month,
    );
    c.insert(
        "s3_replication",
        gb * (p.s3_rtc_per_gb + p.transfer_inter_region_per_gb),
    );
    c.insert(
        "eventbridge",
        usage.eventbridge_events as f64 * p.eventbridge_per_event,
    );
    c.insert(
        "cloudwatch_logs",
        usage.log_bytes as f64 / 1e9 * p.logs_per_gb,
    );
    c.insert("kms", kms_requests * p.kms_per_request);
    let mut out: BTreeMap<String, f64> = c
        .into_iter()
        .map(|(k, v)| (k.to_string(), round4(v * per)))
        .collect();
    let total = out.values().sum::<f64>();
    out.insert("total".into(), round4(total));
    out
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_table_has_both_regions_and_textract_dominates_a_plain_page() {
        let p = Prices::load().unwrap();
        assert!(p.as_of.starts_with("20"));
        for r in ["eu-west-1", "us-east-1"] {
            assert!(p.regions.contains_key(r), "{r}");
        }
        let usage = Usage {
            textract_pages_billed: 1000,
            sfn_transitions: 3000,
            lambda_gb_seconds: 1000.0,
            lambda_requests: 2500,
            ..Usage::default()
        };
        let c = cost_per_1000_pages(&usage, 1000, &p.regions["us-east-1"], 0.0);
        assert_eq!(c["textract"], 1.5);
        assert_eq!(c["step_functions"], 0.075);
        assert!(
            (c["total"] - (1.5 + 0.075 + c["lambda"])).abs() < 1e-3,
            "{c:?}"
        );
        assert!(p.bytes_per_page() > 1e6);
    }
}
