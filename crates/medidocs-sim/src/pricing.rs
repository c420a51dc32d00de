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
    pub stored_bytes_per_page: StoredPerPage,
}

/// What one page stores, as `medidocs storage --json` measured it (its `per_page`).
#[derive(Debug, Clone, Copy, Deserialize, Default)]
pub struct StoredPerPage {
    pub original: f64,
    pub thumb: f64,
    pub preview: f64,
    pub text: f64,
    pub ocr_model: f64,
    pub page_results: f64,
    /// The document's item in the table (both regions through the global table).
    pub metadata_item: f64,
    /// The page's OCR image: an intermediate, removed when the document ends.
    pub ocr_image: f64,
    /// The record's objects by S3 Intelligent-Tiering's 128 KiB line: larger ones move
    /// to cheaper tiers when nobody reads them (and pay the monitoring fee), smaller ones
    /// stay at the frequent-access price.
    pub objects_at_least_128k: f64,
    pub bytes_at_least_128k: f64,
    pub objects_under_128k: f64,
    pub bytes_under_128k: f64,
}

impl StoredPerPage {
    /// Bytes kept in S3 per page (the record; not the OCR image).
    pub fn kept_bytes(&self) -> f64 {
        self.bytes_at_least_128k + self.bytes_under_128k
    }
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
    pub dynamodb_storage_per_gb_month: f64,
    pub s3_per_put: f64,
    pub s3_per_get: f64,
    pub s3_per_gb_month: f64,
    pub s3_it_infrequent_per_gb_month: f64,
    pub s3_it_archive_instant_per_gb_month: f64,
    pub s3_it_monitoring_per_object_month: f64,
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
}

/// The cost of `usage` (both regions' counts together) at one region's prices, per
/// service, for `pages` pages, scaled to 1,000 pages: the first month, storage included
/// (the record in both regions at the frequent-access price, its replication, the OCR
/// images for the day they may live, the metadata items).
pub fn cost_per_1000_pages(
    usage: &Usage,
    pages: u64,
    p: &RegionPrices,
    stored: &StoredPerPage,
) -> BTreeMap<String, f64> {
    let per = 1000.0 / pages.max(1) as f64;
    let gb = |bytes_per_page: f64| bytes_per_page * pages as f64 / 1e9;
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
            + usage.watchdog_read_units * p.dynamodb_per_read_unit
            + 2.0 * gb(stored.metadata_item) * p.dynamodb_storage_per_gb_month,
    );
    c.insert(
        "s3_requests",
        usage.s3_put as f64 * p.s3_per_put + (usage.s3_get + usage.s3_list) as f64 * p.s3_per_get,
    );
    c.insert(
        "s3_storage_first_month_both_regions",
        2.0 * (gb(stored.kept_bytes()) * p.s3_per_gb_month
            + stored.objects_at_least_128k * pages as f64 * p.s3_it_monitoring_per_object_month)
            + gb(stored.ocr_image) * p.s3_per_gb_month / 30.0,
    );
    c.insert(
        "s3_replication",
        gb(stored.kept_bytes()) * (p.s3_rtc_per_gb + p.transfer_inter_region_per_gb),
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

/// What keeping 1,000 pages costs per year, both regions, in S3 Intelligent-Tiering
/// with nobody reading them after their first month (the cheapest it gets; every read
/// moves an object back to the frequent tier for 30 days, with no retrieval fee): the
/// first year (1 month frequent, 2 infrequent, 9 archive instant), each later year (12
/// archive instant), objects under 128 KiB always at the frequent price, monitoring for
/// the larger ones, and the metadata items.
pub fn keeping_per_1000_pages_per_year(
    p: &RegionPrices,
    stored: &StoredPerPage,
) -> BTreeMap<String, f64> {
    let gb = |bytes_per_page: f64| bytes_per_page * 1000.0 / 1e9;
    let (large, small) = (gb(stored.bytes_at_least_128k), gb(stored.bytes_under_128k));
    let monitoring =
        12.0 * stored.objects_at_least_128k * 1000.0 * p.s3_it_monitoring_per_object_month;
    let small_year = 12.0 * small * p.s3_per_gb_month;
    let first = large
        * (p.s3_per_gb_month
            + 2.0 * p.s3_it_infrequent_per_gb_month
            + 9.0 * p.s3_it_archive_instant_per_gb_month);
    let later = 12.0 * large * p.s3_it_archive_instant_per_gb_month;
    let table = 12.0 * gb(stored.metadata_item) * p.dynamodb_storage_per_gb_month;
    let mut out = BTreeMap::new();
    out.insert(
        "s3_first_year".to_string(),
        round4(2.0 * (first + small_year + monitoring)),
    );
    out.insert(
        "s3_each_later_year".to_string(),
        round4(2.0 * (later + small_year + monitoring)),
    );
    out.insert("dynamodb_each_year".to_string(), round4(2.0 * table));
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
        let none = StoredPerPage::default();
        let c = cost_per_1000_pages(&usage, 1000, &p.regions["us-east-1"], &none);
        assert_eq!(c["textract"], 1.5);
        assert_eq!(c["step_functions"], 0.075);
        assert!(
            (c["total"] - (1.5 + 0.075 + c["lambda"])).abs() < 1e-3,
            "{c:?}"
        );
        // The measured profile: every kind there, the record's objects split at 128 KiB.
        let s = p.stored_bytes_per_page;
        assert!(s.original > 0.0 && s.thumb > 0.0 && s.preview > 0.0 && s.text > 0.0);
        assert!(s.ocr_image > 0.0 && s.metadata_item > 0.0);
        let kinds = s.original + s.thumb + s.preview + s.text + s.ocr_model + s.page_results;
        assert!((s.kept_bytes() - kinds).abs() / kinds < 0.01, "{s:?}");
    }

    #[test]
    fn keeping_costs_less_each_year_than_the_first_and_grows_with_the_bytes() {
        let p = Prices::load().unwrap();
        let r = &p.regions["eu-west-1"];
        let s = p.stored_bytes_per_page;
        let k = keeping_per_1000_pages_per_year(r, &s);
        assert!(k["s3_each_later_year"] < k["s3_first_year"], "{k:?}");
        assert!(k["s3_each_later_year"] > 0.0);
        let double = StoredPerPage {
            bytes_at_least_128k: 2.0 * s.bytes_at_least_128k,
            ..s
        };
        let k2 = keeping_per_1000_pages_per_year(r, &double);
        assert!(k2["s3_each_later_year"] > k["s3_each_later_year"]);
        // A year at the archive-instant price is cheaper than a month's first-month
        // storage times twelve.
        let usage = Usage::default();
        let first = cost_per_1000_pages(&usage, 1000, r, &s);
        assert!(k["s3_each_later_year"] < 12.0 * first["s3_storage_first_month_both_regions"]);
    }
}
