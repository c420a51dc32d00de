//! What a region's services were asked to do: the counts the cost table is made from.

use std::sync::Mutex;

use serde::Serialize;

/// Requests, units and durations counted in one region.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    pub s3_put: u64,
    pub s3_get: u64,
    pub s3_list: u64,
    pub dynamodb_write_units: f64,
    pub dynamodb_read_units: f64,
    pub dynamodb_replicated_write_units: f64,
    pub dynamodb_throttles: u64,
    pub lambda_requests: u64,
    pub lambda_gb_seconds: f64,
    pub lambda_throttles: u64,
    pub lambda_service_errors: u64,
    pub lambda_cold_starts: u64,
    pub textract_pages_billed: u64,
    pub textract_throttled: u64,
    pub sfn_transitions: u64,
    pub sfn_executions: u64,
    pub sfn_start_throttles: u64,
    pub sqs_requests: u64,
    pub eventbridge_events: u64,
    pub watchdog_passes: u64,
    pub watchdog_read_units: f64,
    pub log_bytes: u64,
}

impl Usage {
    pub fn add(&mut self, o: &Usage) {
        self.s3_put += o.s3_put;
        self.s3_get += o.s3_get;
        self.s3_list += o.s3_list;
        self.dynamodb_write_units += o.dynamodb_write_units;
        self.dynamodb_read_units += o.dynamodb_read_units;
        self.dynamodb_replicated_write_units += o.dynamodb_replicated_write_units;
        self.dynamodb_throttles += o.dynamodb_throttles;
        self.lambda_requests += o.lambda_requests;
        self.lambda_gb_seconds += o.lambda_gb_seconds;
        self.lambda_throttles += o.lambda_throttles;
        self.lambda_service_errors += o.lambda_service_errors;
        self.lambda_cold_starts += o.lambda_cold_starts;
        self.textract_pages_billed += o.textract_pages_billed;
        self.textract_throttled += o.textract_throttled;
        self.sfn_transitions += o.sfn_transitions;
        self.sfn_executions += o.sfn_executions;
        self.sfn_start_throttles += o.sfn_start_throttles;
        self.sqs_requests += o.sqs_requests;
        self.eventbridge_events += o.eventbridge_events;
        self.watchdog_passes += o.watchdog_passes;
        self.watchdog_read_units += o.watchdog_read_units;
        self.log_bytes += o.log_bytes;
    }
}

/// A region's counters, shared by its models.
#[derive(Default)]
pub struct Meter(Mutex<Usage>);

impl Meter {
    pub fn count(&self, f: impl FnOnce(&mut Usage)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn snapshot(&self) -> Usage {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
